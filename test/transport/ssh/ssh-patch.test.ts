/**
 * The next manifest made on the host (the file helper's patch op,
 * patch-protocol.ts) through a real SshTransport and a real OpenSSH server:
 * byte for byte the file the local merge makes, the previous manifest checked
 * before a byte of it is used (an edited, linked or longer one is refused and
 * the file is written whole instead), and a transfer cut short leaves the
 * previous manifest as it was and no new one.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  writeFileSync,
  appendFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sshSuite } from '../../helpers/ssh-suite.js';
import { SshTransport } from '../../../src/transport/ssh/ssh-transport.js';
import type { Transport } from '../../../src/transport/transport.js';
import type { FileStat, ManifestEntry } from '../../../src/plan/manifest-types.js';
import type { TargetPlan } from '../../../src/plan/types.js';
import { formatManifest } from '../../../src/apply/manifest-text.js';
import { layout } from '../../../src/apply/layout.js';
import { manifestFromBytes } from '../../../src/apply/stored-manifest.js';
import {
  nextManifest,
  readManifestFile,
  recordManifestFile,
  type ManifestRef,
} from '../../../src/apply/manifest-store.js';
import type { Manifest } from '../../../src/plan/manifest-types.js';
import { OP_PATCH } from '../../../src/transport/ssh/patch-protocol.js';
import { OP_RENAME, OP_WRITE } from '../../../src/transport/ssh/perl-helper-protocol.js';
import { closingHelper, PUBLISHED_BEFORE, watched } from '../../helpers/helper-records.js';

const suite = sshSuite('patch');

const L = layout('.diffship');
const OLD_ID = '20261202T010000000Z-aaaaaa';
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const stat = (i: number): FileStat => ({
  size: 10 + i,
  mtimeNs: `${1_700_000_000_000_000_000 + i}`,
  ctimeNs: `${1_700_000_000_000_000_000 + i}`,
  ino: String(1000 + i),
  mode: 0o100644,
});

const open = (root: string): Promise<SshTransport> => suite.open(root);

/** A target with a recorded manifest of `count` files, and the state that names it (held here). */
function recorded(root: string, count: number) {
  const files: ManifestEntry[] = [];
  for (let i = 0; i < count; i++)
    files.push({
      path: `d${i % 5}/f${String(i).padStart(5, '0')}.txt`,
      blob: A,
      mode: '100644',
      stat: stat(i),
    });
  // A path that must be quoted in the file: the host never parses a line, only copies bytes.
  files.push({ path: 'odd\tname.txt', blob: A, mode: '100644', stat: stat(count) });
  files.sort((x, y) => (x.path < y.path ? -1 : 1));
  const text = Buffer.from(formatManifest(files));
  mkdirSync(join(root, '.diffship/manifests'), { recursive: true });
  writeFileSync(join(root, `.diffship/manifests/${OLD_ID}.tsv`), text);
  const ref: ManifestRef = { file: `${OLD_ID}.tsv`, sha256: sha256(text), size: text.length };
  const where = `${root}/.diffship/manifests/${ref.file}`;
  const state = { release: 'c'.repeat(40), manifest: manifestFromBytes(text, 40, where), manifestFile: ref };
  return { text, ref, state, files };
}

/** A deploy's changes: two files written (changed, new), one kept with a new mode, two removed. */
function plan(root: string): TargetPlan {
  mkdirSync(join(root, 'd1'), { recursive: true });
  mkdirSync(join(root, 'new'), { recursive: true });
  writeFileSync(join(root, 'd1/f00001.txt'), 'changed\n');
  writeFileSync(join(root, 'new/file.txt'), 'new\n');
  return {
    writes: [{ path: 'd1/f00001.txt' }, { path: 'new/file.txt' }],
    manifestDelta: {
      set: [
        { path: 'd1/f00001.txt', blob: B, mode: '100644' },
        { path: 'd2/f00002.txt', blob: A, mode: '100755' },
        { path: 'new/file.txt', blob: B, mode: '100644' },
      ],
      remove: ['d3/f00003.txt', 'd4/f00009.txt'],
    },
  } as unknown as TargetPlan;
}

/** The transport as one without the patch op: the manifest then goes whole, as before it. */
function whole(t: Transport): Transport {
  return new Proxy(t, {
    get: (target, key) => {
      if (key === 'patchFile') return undefined;
      const v = Reflect.get(target, key, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** The transport, counting what its patchFile answered. */
function counted(t: SshTransport): { t: Transport; answers: boolean[] } {
  const answers: boolean[] = [];
  const proxy = new Proxy(t, {
    get: (target, key) => {
      const v = Reflect.get(target, key, target) as unknown;
      if (typeof v !== 'function') return v;
      const f = (v as (...a: unknown[]) => unknown).bind(target);
      if (key !== 'patchFile') return f;
      return async (...a: unknown[]) => {
        const r = (await f(...a)) as boolean;
        answers.push(r);
        return r;
      };
    },
  });
  return { t: proxy, answers };
}

async function record(t: Transport, id: string, state: ReturnType<typeof recorded>['state'], p: TargetPlan) {
  const pending = nextManifest(t, L, p, state)!;
  const next: { manifest: Manifest | null; manifestFile: ManifestRef | null } = {
    manifest: null,
    manifestFile: null,
  };
  await recordManifestFile(t, L, id, pending, next, 8);
  return next.manifestFile!;
}

describe('the next manifest made on the host over ssh', () => {
  it('is byte for byte the file the local merge writes, with the same size and SHA-256', async () => {
    const root = join(suite.base, 'same');
    const { state, text } = recorded(root, 3000);
    const p = plan(root);
    const ssh = await open(root);
    try {
      const spy = counted(ssh);
      const onHost = await record(spy.t, '20261202T020000000Z-bbbbbb', state, p);
      expect(spy.answers).toEqual([true]);
      const sent = await record(whole(ssh), '20261202T020000000Z-cccccc', state, p);
      const a = readFileSync(join(root, '.diffship/manifests', onHost.file));
      const b = readFileSync(join(root, '.diffship/manifests', sent.file));
      expect(a.equals(b)).toBe(true);
      expect(a.equals(text)).toBe(false);
      expect({ sha256: onHost.sha256, size: onHost.size }).toEqual({ sha256: sha256(a), size: a.length });
      expect({ sha256: sent.sha256, size: sent.size }).toEqual({ sha256: onHost.sha256, size: onHost.size });
      // The written files' lines carry their fresh stats; the removed paths are gone; the rest is copied.
      const lines = a.toString().split('\n');
      expect(lines.some((l) => l.startsWith(`${B}\t100644\t8,`) && l.endsWith('\td1/f00001.txt'))).toBe(true);
      expect(lines.some((l) => l.endsWith('\td3/f00003.txt'))).toBe(false);
      expect(lines.some((l) => l.endsWith('"odd\\tname.txt"'))).toBe(true);
      // The previous manifest is untouched, the staged file gone.
      expect(readFileSync(join(root, `.diffship/manifests/${OLD_ID}.tsv`)).equals(text)).toBe(true);
      expect(readdirSync(join(root, '.diffship/staging'))).toEqual([]);
    } finally {
      await ssh.close();
    }
  });

  const tampered: Array<[string, (file: string) => void]> = [
    ['edited (same size)', (f) => writeFileSync(f, readFileSync(f).toString().replace('d0/', 'e0/'))],
    ['longer', (f) => appendFileSync(f, `${A}\t100644\t1,1,1,1,33188\tzzz\n`)],
    [
      'a link to a copy',
      (f) => {
        renameSync(f, `${f}.copy`);
        symlinkSync(`${f}.copy`, f);
      },
    ],
  ];
  for (const [how, tamper] of tampered)
    it(`refuses a previous manifest ${how} on the host: nothing renamed, the file is written whole`, async () => {
      const root = join(suite.base, `tampered-${how.replace(/\W+/g, '-')}`);
      const { state } = recorded(root, 200);
      const p = plan(root);
      tamper(join(root, `.diffship/manifests/${OLD_ID}.tsv`));
      const ssh = await open(root);
      try {
        const spy = counted(ssh);
        const ref = await record(spy.t, '20261202T030000000Z-dddddd', state, p);
        expect(spy.answers).toEqual([false]);
        // The fallback wrote the merge of the bytes the state names, not of the host's file.
        const expected = await record(whole(ssh), '20261202T030000000Z-eeeeee', state, p);
        const a = readFileSync(join(root, '.diffship/manifests', ref.file));
        expect(a.equals(readFileSync(join(root, '.diffship/manifests', expected.file)))).toBe(true);
        expect(sha256(a)).toBe(ref.sha256);
        expect(readdirSync(join(root, '.diffship/staging'))).toEqual([]);
        // And read back as the state names it, the host's own file is still refused.
        await expect(readManifestFile(ssh, L, state.manifestFile, 40)).rejects.toMatchObject({
          code: how.startsWith('a link') ? 'E_UNSAFE' : 'E_STATE',
        });
      } finally {
        await ssh.close();
      }
    });

  it('a base the look hashed is not hashed again, unless its stat moved since: then a changed one is refused', async () => {
    const root = join(suite.base, 'looked');
    const { state, text } = recorded(root, 300);
    writeFileSync(join(root, '.diffship/state.json'), '{}');
    // The helper remembers no file whose mtime or ctime is under 2 s old (it may change in the same tick).
    await new Promise((r) => setTimeout(r, 2100));
    const p = plan(root);
    const ssh = await open(root);
    try {
      const spy = counted(ssh);
      const look = () =>
        ssh.walkUnmatched(
          {
            manifest: `.diffship/manifests/${OLD_ID}.tsv`,
            state: '.diffship/state.json',
            skip: ['.diffship'],
          },
          () => undefined,
        );
      expect((await look())?.sha256).toBe(state.manifestFile.sha256);
      await record(spy.t, '20261202T050000000Z-aaaaaa', state, p);
      expect(spy.answers).toEqual([true]);
      // Looked at again, then edited in place (same size): its ctime moved, so it is hashed and refused.
      expect((await look())?.sha256).toBe(state.manifestFile.sha256);
      const file = join(root, `.diffship/manifests/${OLD_ID}.tsv`);
      writeFileSync(file, text.toString().replace('d1/', 'e1/'));
      const ref = await record(spy.t, '20261202T050000000Z-bbbbbb', state, p);
      expect(spy.answers).toEqual([true, false]);
      const first = readFileSync(join(root, '.diffship/manifests/20261202T050000000Z-aaaaaa.tsv'));
      expect(readFileSync(join(root, '.diffship/manifests', ref.file)).equals(first)).toBe(true);
    } finally {
      await ssh.close();
    }
  });

  /** The manifest recorded with a state published right behind it (session.ts's step 5 over SSH). */
  async function recordWithState(
    t: SshTransport,
    id: string,
    state: ReturnType<typeof recorded>['state'],
    p: TargetPlan,
  ) {
    const pending = nextManifest(t, L, p, state)!;
    const next: { manifest: Manifest | null; manifestFile: ManifestRef | null } = {
      manifest: null,
      manifestFile: null,
    };
    const data = () => Buffer.from(JSON.stringify({ names: next.manifestFile }));
    const published = await recordManifestFile(t, L, id, pending, next, 8, {
      thenState: () => ({
        tmp: '.diffship/state.json.tmp-test',
        rel: '.diffship/state.json',
        data: data(),
        mode: 0o644,
      }),
    });
    return { published, ref: next.manifestFile! };
  }

  it('the state that names the new manifest goes right behind its patch: one wait for both', async () => {
    const root = join(suite.base, 'then-state');
    const { state } = recorded(root, 300);
    const p = plan(root);
    const ssh = await open(root);
    try {
      const sent = watched(ssh);
      const { published, ref } = await recordWithState(ssh, '20261202T060000000Z-aaaaaa', state, p);
      expect(published).toBe(true);
      // The state names the file just made, by its hash; no temporary file left.
      expect(JSON.parse(readFileSync(join(root, '.diffship/state.json'), 'utf8'))).toEqual({ names: ref });
      expect(sha256(readFileSync(join(root, '.diffship/manifests', ref.file)))).toBe(ref.sha256);
      expect(readdirSync(join(root, '.diffship')).filter((n) => n.includes('.tmp-'))).toEqual([]);
      // The patch, then the state's write and rename, each chained, queued before any answer came.
      const tail = sent.filter((r) => [OP_PATCH, OP_WRITE, OP_RENAME].includes(r.op));
      expect(tail.map((r) => [r.op, r.chained])).toEqual([
        [OP_PATCH, false],
        [OP_WRITE, true],
        [OP_RENAME, true],
      ]);
      expect(new Set(tail.map((r) => r.answersBefore)).size).toBe(1);
    } finally {
      await ssh.close();
    }
  });

  it('a refused patch publishes no state behind it: the file goes whole, the state naming it behind that', async () => {
    const root = join(suite.base, 'then-state-refused');
    const { state } = recorded(root, 200);
    const p = plan(root);
    tampered[0]![1](join(root, `.diffship/manifests/${OLD_ID}.tsv`));
    const ssh = await open(root);
    try {
      const sent = watched(ssh);
      const { published, ref } = await recordWithState(ssh, '20261202T070000000Z-aaaaaa', state, p);
      // The host skipped the state behind the refused patch; the whole file's chain (written in
      // staging, renamed into manifests/, then the state, synced, renamed) published it.
      expect(published).toBe(true);
      expect(JSON.parse(readFileSync(join(root, '.diffship/state.json'), 'utf8'))).toEqual({ names: ref });
      expect(sha256(readFileSync(join(root, '.diffship/manifests', ref.file)))).toBe(ref.sha256);
      expect(readdirSync(join(root, '.diffship')).filter((n) => n.includes('.tmp-'))).toEqual([]);
      expect(readdirSync(join(root, '.diffship/staging'))).toEqual([]);
      const chain = sent.slice(sent.findIndex((r) => r.op === OP_PATCH) + 3);
      expect(chain.map((r) => [r.op, r.chained])).toEqual(PUBLISHED_BEFORE);
    } finally {
      await ssh.close();
    }
  });

  it('a state that cannot be published behind a made patch: its error, the manifest in place, no litter', async () => {
    const root = join(suite.base, 'then-state-fails');
    const { state } = recorded(root, 200);
    const p = plan(root);
    // A folder (not empty) where the state goes: the rename over it fails on the host.
    mkdirSync(join(root, '.diffship/state.json/in-the-way'), { recursive: true });
    const ssh = await open(root);
    try {
      await expect(recordWithState(ssh, '20261202T080000000Z-aaaaaa', state, p)).rejects.toMatchObject({
        code: 'E_TRANSPORT',
        message: expect.stringContaining('state.json') as unknown,
      });
      expect(readdirSync(join(root, '.diffship/manifests'))).toContain('20261202T080000000Z-aaaaaa.tsv');
      expect(readdirSync(join(root, '.diffship')).filter((n) => n.includes('.tmp-'))).toEqual([]);
      expect(readdirSync(join(root, '.diffship/state.json'))).toEqual(['in-the-way']);
    } finally {
      await ssh.close();
    }
  });

  it('the helper ended behind the patch: the manifest written whole, no state from the chain, no litter', async () => {
    const root = join(suite.base, 'then-state-gone');
    const { state, text } = recorded(root, 200);
    const p = plan(root);
    const ssh = await open(root);
    try {
      // Closed as the state's write is queued: the patch sent, its answer and the state's never come.
      const sent = await closingHelper(
        ssh,
        (op, rel) => op === OP_WRITE && rel.startsWith('.diffship/state.json.tmp-'),
      );
      const { published, ref } = await recordWithState(ssh, '20261202T090000000Z-aaaaaa', state, p);
      expect(sent.map((r) => r.op)).toEqual(expect.arrayContaining([OP_PATCH, OP_WRITE]));
      // Not published by the chain: the caller writes the state itself, as after a refused patch.
      expect(published).toBe(false);
      expect(existsSync(join(root, '.diffship/state.json'))).toBe(false);
      expect(sha256(readFileSync(join(root, '.diffship/manifests', ref.file)))).toBe(ref.sha256);
      expect(readFileSync(join(root, `.diffship/manifests/${OLD_ID}.tsv`)).equals(text)).toBe(true);
      expect(readdirSync(join(root, '.diffship')).filter((n) => n.includes('.tmp-'))).toEqual([]);
    } finally {
      await ssh.close();
    }
  });

  it("an answer to the patch that is not the patch's own: an error naming it, the previous manifest intact", async () => {
    const root = join(suite.base, 'then-state-garbled');
    const { state, text } = recorded(root, 200);
    const p = plan(root);
    const ssh = await open(root);
    try {
      // The patch's record goes as a plain write elsewhere: the host answers "ok", not a patch's answer.
      watched(ssh, (op) => (op === OP_PATCH ? [OP_WRITE, '.diffship/not-a-patch'] : undefined));
      await expect(recordWithState(ssh, '20261202T100000000Z-aaaaaa', state, p)).rejects.toMatchObject({
        code: 'E_TRANSPORT',
        message: expect.stringMatching(/answer to the patch of .*garbled/) as unknown,
      });
      expect(readFileSync(join(root, `.diffship/manifests/${OLD_ID}.tsv`)).equals(text)).toBe(true);
      expect(readdirSync(join(root, '.diffship/manifests'))).toEqual([`${OLD_ID}.tsv`]);
      expect(readdirSync(join(root, '.diffship')).filter((n) => n.includes('.tmp-'))).toEqual([]);
    } finally {
      await ssh.close();
    }
  });

  it('cut short mid-transfer: the previous manifest is intact and no new one appears', async () => {
    const root = join(suite.base, 'cut');
    const { state, text, ref } = recorded(root, 200);
    const ssh = await open(root);
    const to = '.diffship/manifests/20261202T040000000Z-ffffff.tsv';
    mkdirSync(join(root, '.diffship/staging'), { recursive: true });
    // 64 MiB of new bytes: the connection ends while they are on the way.
    const big = Buffer.alloc(64 * 1024 * 1024, 0x61);
    const check = {
      base: { size: ref.size, sha256: ref.sha256 },
      result: { size: big.length, sha256: sha256(big) },
    };
    const patching = ssh.patchFile(
      `.diffship/manifests/${OLD_ID}.tsv`,
      '.diffship/staging/x.tsv',
      to,
      check,
      [big],
      0o644,
    );
    patching.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 150));
    await ssh.close();
    await patching.catch(() => undefined);
    const again = await open(root);
    try {
      expect(existsSync(join(root, to))).toBe(false);
      const read = await readManifestFile(again, L, state.manifestFile, 40);
      expect(read.files).toHaveLength(201);
      expect(readFileSync(join(root, `.diffship/manifests/${OLD_ID}.tsv`)).equals(text)).toBe(true);
    } finally {
      await again.close();
    }
  });
});
