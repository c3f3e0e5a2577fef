/**
 * Issue 10, target side: placeholder values that come from a release or a
 * target are inserted shell-safe or refused (pure logic; the end-to-end attack
 * through a real hook is in target-state.test.ts). The command actually runs in
 * a real shell here, so a value that slipped through would create the file.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expandPlaceholders } from '../../src/config/placeholders.js';
import { hookEnv } from '../../src/rollout/hooks.js';
import { runLocal } from '../../src/transport/local/run-local.js';

const dir = mkdtempSync(join(tmpdir(), 'diffship-sec-ph-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sha = 'a'.repeat(40);
const ctx = { name: 'n', host: 'h', path: '/p', vars: {}, release: sha, previous: sha };

describe('placeholders from a release or a target', () => {
  it.each([
    ['{previous}', { previous: `${sha}^{/.|$(touch ${join(dir, 'pwned')})}` }],
    ['{previous}', { previous: `$(touch ${join(dir, 'pwned')})` }],
    ['{previous}', { previous: sha.slice(0, 12) }],
    ['{release}', { release: `HEAD;touch ${join(dir, 'pwned')}` }],
    ['{release}', { release: sha.toUpperCase() }],
  ])('refuses %s = %j, and nothing runs', async (token, over) => {
    let command: string | null = null;
    try {
      command = expandPlaceholders(`echo ${token}`, { ...ctx, ...over });
    } catch (error) {
      expect(error).toMatchObject({ code: 'E_STATE' });
      expect((error as Error).message).toContain(`refusing to insert ${token}`);
    }
    if (command !== null) await runLocal(command, { cwd: dir });
    expect(command).toBeNull();
    expect(existsSync(join(dir, 'pwned'))).toBe(false);
  });

  it('inserts full hex ids (sha1 and sha256) as they are, and "" for a first deploy', () => {
    const sha256 = 'b'.repeat(64);
    expect(expandPlaceholders('{release} {previous}', { ...ctx, release: sha256 })).toBe(`${sha256} ${sha}`);
    expect(expandPlaceholders('[{previous}]', { ...ctx, previous: null })).toBe('[]');
  });

  it('hookEnv refuses a DIFFSHIP_PREVIOUS_RELEASE that is not an object id', () => {
    const values = { target: 't', host: 'h', path: '/p', release: sha, deployId: 'd', changesFile: '/c' };
    expect(() => hookEnv({ ...values, previousRelease: '$(id)' })).toThrow(/DIFFSHIP_PREVIOUS_RELEASE/);
    expect(hookEnv({ ...values, previousRelease: sha }).DIFFSHIP_PREVIOUS_RELEASE).toBe(sha);
  });
});
