/**
 * The local transport lists a small folder (the state folder's) on the event loop's thread and a
 * big one in the threadpool (small-dir.ts); either way it gets the same names, and a missing
 * folder, a file or a link reads as fs.readdir would read them. The thread is seen by strace(1).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalTransport } from '../../../src/transport/local/local-transport.js';
import { tempDir } from '../../helpers/git.js';

const lib = fileURLToPath(new URL('../../../lib/transport/local/local-transport.js', import.meta.url));
const cleanups: string[] = [];
afterEach(() => {
  for (const dir of cleanups.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A target with `small/` (3 names) and `big/` (800 long names: far past 8 KiB of folder). */
function target(): string {
  const root = tempDir('diffship-smalldir-');
  cleanups.push(root);
  mkdirSync(join(root, 'small'));
  for (const n of ['a', 'b', 'c']) writeFileSync(join(root, 'small', n), n);
  mkdirSync(join(root, 'big'));
  for (let i = 0; i < 800; i++)
    writeFileSync(join(root, 'big', `a-rather-long-file-name-number-${i}.json`), '');
  return root;
}

describe('LocalTransport.readdir of small and big folders', () => {
  it('returns the names fs.readdir returns, and null for a missing folder or a file', async () => {
    const root = target();
    writeFileSync(join(root, 'file'), 'x');
    symlinkSync('small', join(root, 'link'));
    const t = new LocalTransport(root);
    await t.connect();
    for (const dir of ['small', 'big', 'link'])
      expect((await t.readdir(dir))?.sort()).toEqual(readdirSync(join(root, dir)).sort());
    expect((await t.rawNames!('small'))?.map((b) => b.toString()).sort()).toEqual(['a', 'b', 'c']);
    expect(await t.readdir('missing')).toBeNull();
    // ENOTDIR, as from fs.readdir: the transport reads it as missing.
    expect(await t.readdir('file')).toBeNull();
    await t.close();
  });

  it('lists a small folder on the event loop, a big one in the threadpool (strace)', () => {
    const root = target();
    const work = tempDir('diffship-smalldir-strace-');
    cleanups.push(work);
    const script = join(work, 'child.mjs');
    writeFileSync(
      script,
      `import { LocalTransport } from ${JSON.stringify(lib)};
// Two targets open: the fleet's case, where calls that change a folder leave the event loop.
const t = new LocalTransport(${JSON.stringify(root)});
const other = new LocalTransport(${JSON.stringify(root)});
await t.connect();
await other.connect();
const fs = await import('node:fs');
fs.writeSync(1, 'SMALL\\n');
await t.readdir('small');
fs.writeSync(1, 'BIG\\n');
await t.readdir('big');
fs.writeSync(1, 'END\\n');
`,
    );
    const out = join(work, 'trace.txt');
    execFileSync(
      'strace',
      ['-f', '-qq', '-e', 'trace=getdents64,write', '-o', out, process.execPath, script],
      {
        stdio: 'ignore',
      },
    );
    const lines = readFileSync(out, 'utf8').split('\n');
    const at = (marker: string) => lines.findIndex((l) => l.includes(`"${marker}\\n"`));
    const main = lines[at('SMALL')]!.split(' ')[0];
    const listings = (from: string, to: string) =>
      lines
        .slice(at(from) + 1, at(to))
        .filter((l) => /getdents64\(/.test(l))
        .map((l) => l.split(' ')[0]);
    const small = listings('SMALL', 'BIG');
    const big = listings('BIG', 'END');
    expect(small.length).toBeGreaterThan(0);
    expect(small.every((pid) => pid === main)).toBe(true);
    expect(big.length).toBeGreaterThan(0);
    expect(big.every((pid) => pid !== main)).toBe(true);
  });
});
