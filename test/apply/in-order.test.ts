/**
 * in-order.ts, its pure logic: where the transport keeps the order, the operations inside a
 * folder being made are let go before the mkdir's answer, and its failure is still the one told;
 * elsewhere they wait for it. (The real thing, over a real sshd: ssh-deploy-flights.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { inOrderWith } from '../../src/apply/in-order.js';
import type { Transport } from '../../src/transport/transport.js';

const ordered = { inOrder: () => true } as unknown as Transport;
const unordered = {} as unknown as Transport;

/** A mkdir whose answer comes when the test says. */
function pending() {
  let settle!: { resolve(): void; reject(e: Error): void };
  const made = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  return { made, ...settle };
}

describe('inOrderWith', () => {
  it('lets the work start before the answer where the transport keeps the order', async () => {
    const m = pending();
    const o = inOrderWith(ordered, m.made);
    let answered = false;
    void m.made.then(() => (answered = true));
    await o.queued;
    expect(answered).toBe(false);
    m.resolve();
    await expect(o.before(Promise.resolve(7))).resolves.toBe(7);
  });

  it("tells the mkdir's failure first, even when the work behind it failed sooner", async () => {
    const m = pending();
    const o = inOrderWith(ordered, m.made);
    await o.queued;
    const work = Promise.reject(new Error('ENOENT writing into it'));
    const told = o.before(work);
    m.reject(new Error('EACCES making it'));
    await expect(told).rejects.toThrow('EACCES making it');
  });

  it("tells the work's failure when the folder was made", async () => {
    const o = inOrderWith(ordered, Promise.resolve());
    await expect(o.before(Promise.reject(new Error('EIO')))).rejects.toThrow('EIO');
  });

  it('waits for the answer elsewhere, and a failed mkdir rejects there', async () => {
    const m = pending();
    const o = inOrderWith(unordered, m.made);
    let queued = false;
    void o.queued.then(
      () => (queued = true),
      () => (queued = true),
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(queued).toBe(false);
    m.reject(new Error('EROFS'));
    await expect(o.queued).rejects.toThrow('EROFS');
    await expect(o.done).rejects.toThrow('EROFS');
  });

  it('a mkdir that fails before anyone asks is no unhandled rejection', async () => {
    const o = inOrderWith(ordered, Promise.reject(new Error('early')));
    await new Promise((resolve) => setTimeout(resolve, 20));
    await expect(o.before(Promise.resolve(1))).rejects.toThrow('early');
  });
});
