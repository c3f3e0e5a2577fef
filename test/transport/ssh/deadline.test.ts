/**
 * The deadline logic of src/transport/ssh/deadline.ts, on its own (pure
 * timing logic: a stand-in channel is an EventEmitter with ssh2's window
 * field). The real stalls, with a real sshd, are in test/apply/ssh-stall.test.ts.
 */
import { EventEmitter } from 'node:events';
import type { ClientChannel } from 'ssh2';
import { describe, expect, it } from 'vitest';
import type { TransportError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { SshConnection } from '../../../src/transport/ssh/connection.js';
import { deadline, watchHelper, type StallTarget } from '../../../src/transport/ssh/deadline.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function target(ms: number): StallTarget & { errors: TransportError[] } {
  const errors: TransportError[] = [];
  return { description: 'deploy@host:/srv', replyTimeoutMs: ms, errors, stalled: (e) => errors.push(e) };
}

function channel(): ClientChannel & { outgoing: { window: number } } {
  const c = new EventEmitter() as unknown as ClientChannel & { outgoing: { window: number } };
  c.outgoing = { window: 0 };
  Object.defineProperty(c, 'writableLength', { value: 0 });
  return c;
}

describe('reply deadlines', () => {
  it('a wait that ends in time gives nothing up; one that does not gives the connection up once', async () => {
    const t = target(100);
    deadline(t, () => 'x').done();
    await sleep(200);
    expect(t.errors).toEqual([]);
    deadline(t, () => 'the answer to a test');
    await sleep(250);
    expect(t.errors).toHaveLength(1);
    expect(t.errors[0]).toMatchObject({ code: 'E_TRANSPORT' });
    expect(t.errors[0]!.message).toBe(
      'deploy@host:/srv: no answer from the host for 100ms while waiting for the answer to a test — the host is stalled (a blocked login rc file, a hung disk?); nothing more was sent to it. Fix the host, or raise reply-timeout (now 100ms) if it is only slow',
    );
  });

  it('the file helper: silent with operations waiting is a stall; silent and idle is not', async () => {
    const idle = target(100);
    watchHelper(idle, channel(), new Map());
    const busy = target(100);
    watchHelper(busy, channel(), new Map([[1, 'op']]));
    await sleep(400);
    expect(idle.errors).toEqual([]);
    expect(busy.errors.length).toBeGreaterThan(0);
    expect(busy.errors[0]!.message).toContain('the file helper to answer 1 operation(s)');
  });

  it('the file helper: answers, or the host taking in our data, keep it alive', async () => {
    const answering = target(600);
    const a = channel();
    watchHelper(answering, a, new Map([[1, 'op']]));
    const reading = target(600);
    const r = channel();
    watchHelper(reading, r, new Map([[1, 'op']]));
    // Three deadlines long, a sign of life every 60 ms (well inside one even on a loaded machine).
    for (let i = 0; i < 30; i++) {
      await sleep(60);
      a.emit('data', Buffer.from('x'));
      r.outgoing.window += 32768; // the host read, and granted more window
    }
    expect(answering.errors).toEqual([]);
    expect(reading.errors).toEqual([]);
    a.emit('close');
    r.emit('close');
  });

  it('SshConnection.call: an SFTP request never answered fails, and so does every later call', async () => {
    const conn = new SshConnection(
      'deploy@host:/srv',
      { user: 'deploy', host: 'host', port: 22 },
      '/srv',
      [],
      silentLogger,
      100,
    );
    const t0 = Date.now();
    await expect(conn.call(() => undefined, 'a test request')).rejects.toMatchObject({
      code: 'E_TRANSPORT',
      message: expect.stringContaining('waiting for a test request'),
    });
    expect(Date.now() - t0).toBeLessThan(1000);
    await expect(conn.call((cb) => cb(null, 1))).rejects.toMatchObject({
      message: expect.stringContaining('stalled'),
    });
  });
});
