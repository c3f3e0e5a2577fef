/**
 * The CLI bundle is pure ASCII (scripts/bundle.mjs): Node decodes a module's
 * source as UTF-8 and V8 keeps it one byte per character only when every
 * character fits, so one dash in a comment made the biggest chunk two-byte
 * text, slower to decode on every command. The escaped text still says the
 * same: a message with a non-ASCII character prints it as written.
 */
import { isAscii } from 'node:buffer';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { tempDir } from '../helpers/git.js';

const bundle = fileURLToPath(new URL('../../lib/bundle/', import.meta.url));
const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the CLI bundle', () => {
  it('is ASCII in every chunk', () => {
    const chunks = readdirSync(bundle).filter((name) => name.endsWith('.js'));
    expect(chunks.length).toBeGreaterThan(5);
    const wide = chunks.filter((name) => !isAscii(readFileSync(join(bundle, name))));
    expect(wide).toEqual([]);
  });

  it('still prints non-ASCII text as written', () => {
    writeFileSync(join(dir, 'diffship.yml'), 'waves: [1]\ntargets:\n  - name: t\n    path: ./target\n');
    const r = cli(dir, ['deploy', '--release-name', '!bad']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('give 1\u2013200 letters');
  });
});
