/**
 * A loop of local target calls gives the event loop a turn (loop-turns.ts): the local transport
 * answers lstat synchronously, so without it a long loop runs as microtasks only, and no timer
 * fires and no signal is handled until it ends (a rollback of 500,000 files held a SIGTERM's
 * hard stop 16 s that way).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { LocalTransport } from '../../../src/transport/local/local-transport.js';
import { tempDir } from '../../helpers/git.js';

const cleanups: string[] = [];
afterEach(() => {
  for (const dir of cleanups.splice(0)) rmSync(dir, { recursive: true, force: true });
});

it('a timer due during a second of back-to-back local calls fires during it, not after', async () => {
  const root = tempDir('diffship-loop-turns-');
  cleanups.push(root);
  writeFileSync(join(root, 'f'), 'x');
  const t = new LocalTransport(root);
  await t.connect();
  try {
    const start = performance.now();
    let firedAt: number | null = null;
    let callsBefore = 0;
    let calls = 0;
    setTimeout(() => {
      firedAt = performance.now() - start;
      callsBefore = calls;
    }, 30);
    while (performance.now() - start < 1000) {
      expect((await t.lstat('f'))?.type).toBe('file');
      calls++;
    }
    // It fired while the loop ran (calls came after it), soon after it was due.
    expect(firedAt).not.toBeNull();
    expect(firedAt!).toBeLessThan(300);
    expect(calls - callsBefore).toBeGreaterThan(0);
  } finally {
    await t.close();
  }
});
