/**
 * The local engine conformance suite again, with another local target open the whole
 * time, as in a fleet: the calls that change a folder (create, rename, link, unlink,
 * mkdir) then go through node:fs's threadpool instead of its synchronous API
 * (transport/local/open-targets.ts), and every deploy, rollback and recovery must come
 * out the same.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import { severalTargetsOpen } from '../../src/transport/local/open-targets.js';
import { tempDir } from '../helpers/git.js';
import { describeEngine } from './conformance.js';

const otherDir = tempDir('diffship-other-target-');
const other = new LocalTransport(otherDir);
beforeAll(async () => {
  await other.connect();
});
afterAll(async () => {
  await other.close();
  rmSync(otherDir, { recursive: true, force: true });
});

describe('open local targets', () => {
  it('count from connect to close, so one target alone keeps the synchronous calls', async () => {
    expect(severalTargetsOpen()).toBe(false); // only `other`
    const secondDir = tempDir('diffship-second-target-');
    const second = new LocalTransport(secondDir);
    await second.connect();
    expect(severalTargetsOpen()).toBe(true);
    await second.close();
    await second.close(); // closing twice counts once
    expect(severalTargetsOpen()).toBe(false);
    rmSync(secondDir, { recursive: true, force: true });
  });
});

describeEngine('local, another target open', (path) => ({
  path,
  transport: () => new LocalTransport(path),
  targetConfig: () => `type: local\npath: ${JSON.stringify(path)}`,
}));
