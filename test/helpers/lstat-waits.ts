import type { Transport } from '../../src/transport/transport.js';

/**
 * Count `t`'s lstats in waits: a wait starts when an lstat is asked while none is
 * outstanding (over SSH, a round trip). Returns the count so far.
 */
export function countLstatWaits(t: Pick<Transport, 'lstat'>): () => number {
  let waits = 0;
  let outstanding = 0;
  const lstat = t.lstat.bind(t);
  t.lstat = (rel: string) => {
    if (outstanding === 0) waits++;
    outstanding++;
    const p = lstat(rel);
    const done = () => outstanding--;
    p.then(done, done);
    return p;
  };
  return () => waits;
}
