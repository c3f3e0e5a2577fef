/**
 * closeOnForce (src/rollout/hard-stop.ts): a target's connection is closed
 * when the forced stop comes, and stops listening for it once closed the usual
 * way — one signal serves a whole fleet without piling listeners up (Node
 * warns past 10 on one AbortSignal).
 */
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { closeOnForce } from '../../src/rollout/hard-stop.js';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import { tempDir } from '../helpers/git.js';

/** A real LocalTransport whose close() calls are counted. */
function counted(): { t: LocalTransport; closes: () => number } {
  const t = new LocalTransport(tempDir('diffship-hard-stop-'));
  let n = 0;
  const close = t.close.bind(t);
  t.close = () => {
    n++;
    return close();
  };
  return { t, closes: () => n };
}

describe('closeOnForce', () => {
  it('closes every open transport when the stop comes', () => {
    const force = new AbortController();
    const fleet = Array.from({ length: 5 }, () => counted());
    for (const f of fleet) closeOnForce(f.t, force.signal);
    force.abort();
    expect(fleet.map((f) => f.closes())).toEqual([1, 1, 1, 1, 1]);
  });

  it('a transport closed the usual way stops listening: 40 targets leave no listener behind', async () => {
    const force = new AbortController();
    for (let i = 0; i < 40; i++) {
      const { t } = counted();
      await closeOnForce(t, force.signal).close();
    }
    expect(getEventListeners(force.signal, 'abort')).toHaveLength(0);
  });

  it('an already aborted stop closes at once', () => {
    const force = new AbortController();
    force.abort();
    const f = counted();
    closeOnForce(f.t, force.signal);
    expect(f.closes()).toBe(1);
  });
});
