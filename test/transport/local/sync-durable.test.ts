/**
 * `syncWritten()` really makes files durable: the system calls of a real
 * LocalTransport, seen by strace(1) (a kill cannot show a missing fsync).
 * Few files get an fsync each; many get one syncfs(2) (`sync -f`).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/git.js';

const lib = fileURLToPath(new URL('../../../lib/transport/local/local-transport.js', import.meta.url));
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** Write `count` files unsynced, print a marker, call syncWritten(); return strace's lines after the marker. */
function traceSync(count: number): { after: string[]; root: string } {
  const root = tempDir('diffship-sync-');
  const work = tempDir('diffship-strace-');
  cleanups.push(
    () => rmSync(root, { recursive: true, force: true }),
    () => rmSync(work, { recursive: true, force: true }),
  );
  const script = join(work, 'child.mjs');
  writeFileSync(
    script,
    `import { writeSync } from 'node:fs';
import { LocalTransport } from ${JSON.stringify(lib)};
const t = new LocalTransport(${JSON.stringify(root)});
await t.connect();
await t.mkdirp('staged');
for (let i = 0; i < ${count}; i++) await t.writeFile('staged/' + i, Buffer.from('x' + i), 0o644, { sync: false });
// Written unsynced under a temporary name, then renamed (a backup's manifest.json).
await t.writeFile('staged/whole.tmp-1', Buffer.from('{}'), 0o644, { sync: false });
await t.rename('staged/whole.tmp-1', 'staged/whole.json');
writeSync(1, 'SYNC-MARKER\\n');
await t.syncWritten();
// A synced write (a journal's or the state's temporary file): its own fsync, before it returns.
await t.writeFile('journal.json.tmp-1', Buffer.from('{}'), 0o644);
writeSync(1, 'JOURNAL-WRITTEN\\n');
`,
  );
  const out = join(work, 'trace.txt');
  execFileSync(
    'strace',
    ['-f', '-y', '-qq', '-e', 'trace=fsync,fdatasync,syncfs,sync,write', '-o', out, process.execPath, script],
    {
      stdio: 'ignore',
    },
  );
  const lines = readFileSync(out, 'utf8').split('\n');
  const marker = lines.findIndex((l) => l.includes('SYNC-MARKER'));
  expect(marker).toBeGreaterThan(-1);
  return { after: lines.slice(marker + 1), root };
}

describe('LocalTransport.syncWritten, under strace', () => {
  it('few files: each one unsynced file is fsynced, after the writes', () => {
    const { after } = traceSync(5);
    const synced = new Set(
      after.flatMap((l) => {
        const m = /\bf(?:data)?sync\(\d+<([^>]*\/staged\/\d+)>/.exec(l);
        return m ? [m[1]!.replace(/.*\/staged\//, '')] : [];
      }),
    );
    expect([...synced].sort()).toEqual(['0', '1', '2', '3', '4']);
  });

  it('a file renamed after its unsynced write is fsynced under its new name', () => {
    const { after } = traceSync(5);
    expect(after.some((l) => /\bf(?:data)?sync\(\d+<[^>]*\/staged\/whole\.json>/.test(l))).toBe(true);
  });

  it('a synced write (journal, state) is fsynced before it returns', () => {
    const { after } = traceSync(1);
    const end = after.findIndex((l) => l.includes('JOURNAL-WRITTEN'));
    expect(end).toBeGreaterThan(-1);
    expect(
      after.slice(0, end).some((l) => /\bf(?:data)?sync\(\d+<[^>]*\/journal\.json\.tmp-1>/.test(l)),
    ).toBe(true);
  });

  it('many files: one syncfs of the target’s file system', () => {
    const { after, root } = traceSync(300);
    const syncfs = after.filter((l) => /\bsyncfs\(/.test(l));
    expect(syncfs.length).toBeGreaterThanOrEqual(1);
    expect(syncfs[0]).toContain(root);
  });
});
