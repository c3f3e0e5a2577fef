/**
 * Progress in a CI log (cli/progress-lines.ts) and the SSH helper's stall watch
 * (transport/ssh/deadline.ts) measure time on the monotonic clock: a wall clock
 * stepped back (NTP, a VM resumed) kept the heartbeat quiet until it caught up,
 * and one stepped forward printed a step as running 19 s five seconds after it
 * started (seen in CI), or would read as the host's silence. Fake timers move
 * both clocks together; `setSystemTime` steps the wall clock alone.
 */
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import type { ClientChannel } from 'ssh2';
import { afterEach, expect, it, vi } from 'vitest';
import { createColors } from 'picocolors';
import { lineProgress } from '../../src/cli/progress-lines.js';
import { watchHelper, type StallTarget } from '../../src/transport/ssh/deadline.js';
import type { TransportError } from '../../src/errors.js';

afterEach(() => {
  vi.useRealTimers();
});

const fake = () =>
  vi.useFakeTimers({
    toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'Date', 'performance'],
  });

it.each([
  ['back an hour', -3_600_000],
  ['forward a minute', 60_000],
])('a heartbeat every 5 s with the true elapsed time, the wall clock stepped %s', (_, step) => {
  fake();
  const stderr = new PassThrough();
  let text = '';
  stderr.on('data', (d: Buffer) => (text += d.toString()));
  const p = lineProgress({ stdout: new PassThrough(), stderr, env: {} }, createColors(false));
  p.onEvent({ type: 'step-start', target: 'soup-a', step: 'before' });
  vi.advanceTimersByTime(1_000);
  vi.setSystemTime(Date.now() + step);
  vi.advanceTimersByTime(4_600);
  p.done();
  expect(text).toBe('  [soup-a] before still running (5s)\n');
});

it('the file helper: a wall clock stepped forward past the reply deadline is not a stall', () => {
  fake();
  const errors: TransportError[] = [];
  const target: StallTarget = {
    description: 'deploy@host:/srv',
    replyTimeoutMs: 1_000,
    stalled: (e) => errors.push(e),
  };
  const channel = new EventEmitter() as unknown as ClientChannel & { outgoing: { window: number } };
  channel.outgoing = { window: 0 };
  Object.defineProperty(channel, 'writableLength', { value: 0 });
  watchHelper(target, channel, new Map([[1, 'op']]));
  vi.advanceTimersByTime(500);
  vi.setSystemTime(Date.now() + 60_000);
  vi.advanceTimersByTime(400);
  expect(errors).toEqual([]);
  // Silent for the deadline itself: a stall, as before.
  vi.advanceTimersByTime(400);
  expect(errors).toHaveLength(1);
  channel.emit('close');
});
