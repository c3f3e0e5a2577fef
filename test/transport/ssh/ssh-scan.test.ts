/**
 * The file helper's scan and stats ops (scan-protocol.ts) through a real
 * SshTransport and a real OpenSSH server: every entry with its type, files and
 * links with an exact lstat, hostile names byte for byte (non-UTF-8 ones as the
 * other walks decode them), git's byte order, the state folder left out, links
 * never followed (a folder swapped for a link to outside mid-walk included),
 * answers far above one part, and "not here" where the helper does not run.
 */
import { spawn } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sshSuite } from '../../helpers/ssh-suite.js';
import { SshTransport } from '../../../src/transport/ssh/ssh-transport.js';
import type { FileStat } from '../../../src/plan/manifest-types.js';
import type { EntryType } from '../../../src/entry-type.js';
import { byteOrder } from '../../../src/byte-order.js';
import { HOSTILE } from '../../apply/conformance.js';

const suite = sshSuite('scan');

const open = (root: string, bulkOps = true): Promise<SshTransport> => suite.open(root, bulkOps);

interface Seen {
  path: string;
  type: EntryType;
  stat: FileStat | null;
}

async function scan(t: SshTransport, skip: string[] = []): Promise<Seen[]> {
  const seen: Seen[] = [];
  expect(await t.walkExact(skip, (path, type, stat) => seen.push({ path, type, stat }))).toBe(true);
  return seen;
}

/** What node's bigint lstat says, for comparison (mtime to the µs: the helper's times are doubles). */
function truth(path: string) {
  const s = lstatSync(path, { bigint: true });
  return { size: Number(s.size), ino: s.ino.toString(), mode: Number(s.mode), mtimeUs: s.mtimeNs / 1000n };
}

describe('the scan op over ssh', () => {
  it('reports every entry once with its type, files and links with an exact lstat, in byte order', async () => {
    const root = join(suite.base, 'names');
    mkdirSync(join(root, '.diffship'), { recursive: true });
    writeFileSync(join(root, '.diffship/state.json'), '{}');
    const outside = join(suite.base, 'outside');
    mkdirSync(outside, { recursive: true });
    writeFileSync(join(outside, 'secret'), 'not the target\n');
    const bad = Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x2e, 0x74]); // "bad\xff\xfe.t"
    const names = [...HOSTILE, 'tab\tname', 'a-b', 'a', 'a.c', '%41 not an escape', 'ç,comma'];
    for (const n of names) writeFileSync(join(root, n), `content of ${n}\n`);
    mkdirSync(join(root, 'dir'));
    writeFileSync(join(root, 'dir', 'new\nline'), 'x');
    writeFileSync(Buffer.concat([Buffer.from(`${root}/dir/`), bad]), 'bytes');
    symlinkSync(outside, join(root, 'to-outside')); // a link to a folder outside: never followed
    symlinkSync('../outside/secret', join(root, 'dir', 'link'));
    mkdirSync(join(root, 'empty'));
    const t = await open(root);
    try {
      const seen = await scan(t, ['.diffship']);
      const paths = seen.map((s) => s.path);
      // git's byte order: "a" < "a-b" < "a.c" < "dir/…" (never "a/…" before "a-b").
      expect([...paths].sort(byteOrder)).toEqual(paths);
      expect(new Set(paths).size).toBe(paths.length);
      expect(paths.some((p) => p.includes('secret') || p.startsWith('.diffship'))).toBe(false);
      const by = new Map(seen.map((s) => [s.path, s]));
      for (const n of names) {
        const s = by.get(n);
        expect(s?.type, JSON.stringify(n)).toBe('file');
        const real = truth(join(root, n));
        expect(s!.stat).toMatchObject({ size: real.size, ino: real.ino, mode: real.mode });
        // The helper's ns come from a double: within a µs of the kernel's.
        const us = BigInt(s!.stat!.mtimeNs) / 1000n;
        expect(us >= real.mtimeUs - 1n && us <= real.mtimeUs + 1n, `${us} ~ ${real.mtimeUs}`).toBe(true);
      }
      expect(by.get('dir/new\nline')?.type).toBe('file');
      // A non-UTF-8 name comes back decoded as the SFTP walk and node's readdir decode it.
      const decoded = `dir/${bad.toString('utf8')}`;
      expect(by.get(decoded)?.type).toBe('file');
      expect(readdirSync(join(root, 'dir'))).toContain(bad.toString('utf8'));
      expect(by.get('to-outside')).toMatchObject({ type: 'symlink' });
      expect(by.get('to-outside')!.stat!.mode & 0o170000).toBe(0o120000);
      expect(by.get('dir/link')?.type).toBe('symlink');
      expect(by.get('dir')).toEqual({ path: 'dir', type: 'dir', stat: null });
      expect(by.get('empty')).toEqual({ path: 'empty', type: 'dir', stat: null });
      expect(seen).toHaveLength(names.length + 6);
    } finally {
      await t.close();
    }
  });

  it('streams a walk far larger than one part (~64 KiB) and stats thousands of paths in batches', async () => {
    const root = join(suite.base, 'many');
    const paths: string[] = [];
    for (let d = 0; d < 30; d++) {
      mkdirSync(join(root, `folder-${d}`), { recursive: true });
      for (let f = 0; f < 100; f++) {
        const p = `folder-${d}/a file with a rather long name, number ${f}.txt`;
        writeFileSync(join(root, p), String(f));
        paths.push(p);
      }
    }
    const t = await open(root);
    try {
      const seen = await scan(t);
      expect(seen.filter((s) => s.type === 'file').map((s) => s.path)).toEqual([...paths].sort(byteOrder));
      const stats = await t.statExactMany([...paths, 'missing', 'folder-1/none/x']);
      expect(stats!.size).toBe(paths.length + 2);
      expect(stats!.get('missing')).toBeNull();
      expect(stats!.get('folder-1/none/x')).toBeNull();
      for (const p of [paths[0]!, paths[2999]!]) {
        expect(stats!.get(p)).toEqual(seen.find((s) => s.path === p)!.stat);
        expect(stats!.get(p)!.ino).toBe(truth(join(root, p)).ino);
      }
    } finally {
      await t.close();
    }
  });

  it('never descends into a folder swapped for a link to outside while it walks', async () => {
    const root = join(suite.base, 'swap');
    mkdirSync(join(root, 'd'), { recursive: true });
    for (let i = 0; i < 200; i++) writeFileSync(join(root, `f${i}`), 'x');
    writeFileSync(join(root, 'd', 'inside'), 'x');
    const outside = join(suite.base, 'outside-swap');
    mkdirSync(outside, { recursive: true });
    for (let i = 0; i < 50; i++) writeFileSync(join(outside, `secret${i}`), 'x');
    symlinkSync(outside, join(root, 'l'));
    // Flip `d` between the folder and a link to outside, fast, resting a millisecond with `d`
    // the real folder each time (without the rest, the walk could miss the folder every round).
    const swapper = spawn(
      'perl',
      [
        '-e',
        'while (1) { rename "d", "t"; rename "l", "d"; rename "d", "l"; rename "t", "d"; select(undef, undef, undef, 0.001); }',
      ],
      { cwd: root, stdio: 'ignore' },
    );
    const t = await open(root);
    try {
      let inside = 0;
      for (let round = 0; round < 40; round++) {
        const seen = await scan(t);
        expect(seen.filter((s) => s.path.includes('secret')).map((s) => s.path)).toEqual([]);
        if (seen.some((s) => s.path === 'd/inside')) inside++;
      }
      // The folder itself was walked into some of the time (the swap did not just hide it).
      expect(inside).toBeGreaterThan(0);
    } finally {
      swapper.kill('SIGKILL');
      await t.close();
    }
  }, 60_000);

  it('says "not here" where the file helper does not run (the caller walks and hashes instead)', async () => {
    const root = join(suite.base, 'names');
    const t = await open(root, false);
    try {
      let visited = 0;
      expect(await t.walkExact([], () => visited++)).toBe(false);
      expect(visited).toBe(0);
      expect(await t.statExactMany(['a'])).toBeNull();
    } finally {
      await t.close();
    }
  });
});
