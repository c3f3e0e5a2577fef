/**
 * Soak (issue 13): many SSH deploys in a row to one real OpenSSH target, each
 * release a random step from the last — files added, updated, deleted and
 * renamed, sizes from 0 to ~1 MiB, some executable — and after each deploy the
 * target's tree compared with the release byte for byte. Every deploy must
 * finish, succeed and leave no lock, journal or staging behind.
 *
 * CI runs DIFFSHIP_SOAK_DEFAULT deploys; `DIFFSHIP_SOAK=200 npx vitest run
 * test/apply/ssh-soak.test.ts` runs the long one (results in test/README.md).
 * The seed is printed and can be replayed with DIFFSHIP_SOAK_SEED.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deploy } from '../../src/api.js';
import { loadConfig } from '../../src/config/load.js';
import { git, tempDir } from '../helpers/git.js';
import { makeRepo, snapshot, type SnapEntry, type Tree } from '../helpers/repo.js';
import { startSshd, sshTargetYaml, type Sshd } from '../helpers/sshd.js';

const DIFFSHIP_SOAK_DEFAULT = 20;
const COUNT = Number(process.env.DIFFSHIP_SOAK ?? DIFFSHIP_SOAK_DEFAULT);
const SEED = Number(process.env.DIFFSHIP_SOAK_SEED ?? Date.now() % 2 ** 31);

/** mulberry32: a small seeded generator, so a failing run can be replayed. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = generator(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

/** Mostly small files, some medium, a few up to ~1 MiB; now and then empty. */
function size(): number {
  const r = random();
  if (r < 0.05) return 0;
  if (r < 0.7) return Math.floor(random() * 4096);
  if (r < 0.95) return Math.floor(random() * 65536);
  return Math.floor(random() * 1024 * 1024);
}

function content(): string {
  const n = size();
  const bytes = Buffer.alloc(n);
  let i = 0;
  for (; i + 4 <= n; i += 4) bytes.writeUInt32LE(Math.floor(random() * 2 ** 32), i);
  for (; i < n; i++) bytes[i] = Math.floor(random() * 256);
  return bytes.toString('latin1');
}

interface File {
  content: string;
  exec: boolean;
}

let counter = 0;
function newPath(files: Map<string, File>): string {
  for (;;) {
    const dir = pick(['', 'a/', 'a/b/', 'c/', 'c/d/e/', 'f g/']);
    const path = `${dir}file-${counter++}${pick(['.txt', '.bin', '', '.json'])}`;
    // A file may not sit where a folder is, or under a file.
    const clash = [...files.keys()].some((p) => p.startsWith(`${path}/`) || path.startsWith(`${p}/`));
    if (!files.has(path) && !clash) return path;
  }
}

/** The next release: a few random adds, updates, deletes and renames. */
function step(files: Map<string, File>): Map<string, File> {
  const next = new Map(files);
  const changes = 1 + Math.floor(random() * 12);
  for (let i = 0; i < changes; i++) {
    const op = next.size < 5 ? 'add' : pick(['add', 'add', 'update', 'update', 'delete', 'rename', 'mode']);
    const existing = [...next.keys()];
    if (op === 'add') next.set(newPath(next), { content: content(), exec: random() < 0.1 });
    else if (op === 'update') next.set(pick(existing), { content: content(), exec: random() < 0.1 });
    else if (op === 'delete') next.delete(pick(existing));
    else if (op === 'rename') {
      const from = pick(existing);
      const file = next.get(from)!;
      next.delete(from);
      next.set(newPath(next), file);
    } else {
      const path = pick(existing);
      next.set(path, { ...next.get(path)!, exec: !next.get(path)!.exec });
    }
  }
  return next;
}

function asTree(files: Map<string, File>): Tree {
  const tree: Tree = {};
  for (const [p, f] of files) tree[`app/${p}`] = { content: f.content, mode: f.exec ? 0o755 : 0o644 };
  return tree;
}

function expected(files: Map<string, File>): Record<string, SnapEntry> {
  const out: Record<string, SnapEntry> = {};
  // makeRepo writes the text as UTF-8; snapshot reads bytes as latin1.
  for (const [p, f] of files)
    out[p] = { type: 'file', content: Buffer.from(f.content, 'utf8').toString('latin1'), exec: f.exec };
  return out;
}

let sshd: Sshd;
let ws: string;
let target: string;
const repo = makeRepo();

beforeAll(async () => {
  sshd = await startSshd();
  ws = tempDir('diffship-soak-');
  target = join(ws, 'target');
  mkdirSync(target);
  writeFileSync(
    join(ws, 'diffship.yml'),
    ['source: app', 'mode: authoritative', 'targets:', ...sshTargetYaml(sshd, target), ''].join('\n'),
  );
});
afterAll(async () => {
  await sshd?.stop();
  repo.cleanup();
});

it(
  `${COUNT} SSH deploys in a row, random changes, each tree compared (seed ${SEED})`,
  async () => {
    console.log(`soak: ${COUNT} deploys, seed ${SEED}`);
    const config = await loadConfig(join(ws, 'diffship.yml'));
    let files = new Map<string, File>();
    const started = Date.now();
    let bytes = 0;
    let lastTree = '';
    for (let i = 0; i < COUNT; i++) {
      files = step(files);
      const sha = repo.commit(asTree(files), `r${i}`);
      git(repo.dir, 'tag', `r${i}`);
      // A step can undo itself (a mode flipped twice, a file added then deleted): the same tree.
      const tree = git(repo.dir, 'rev-parse', `${sha}^{tree}`).trim();
      const report = await deploy({ config, repo: repo.dir, to: sha });
      const t = report.targets[0]!;
      expect(t.status, `deploy ${i} (seed ${SEED}): ${t.error ?? ''}`).toBe(
        tree === lastTree ? 'unchanged' : 'deployed',
      );
      lastTree = tree;
      bytes += t.bytes;
      const onTarget = Object.fromEntries(
        Object.entries(snapshot(target)).filter(([, e]) => e.type !== 'dir'),
      );
      expect(onTarget, `deploy ${i} (seed ${SEED})`).toEqual(expected(files));
      const state = readdirSync(join(target, '.diffship'));
      expect(state, `deploy ${i}`).not.toContain('lock.json');
      expect(state, `deploy ${i}`).not.toContain('journal.json');
      if (state.includes('staging')) expect(readdirSync(join(target, '.diffship/staging'))).toEqual([]);
    }
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `soak: ${COUNT} deploys in ${seconds.toFixed(1)} s, ${(bytes / 2 ** 20).toFixed(1)} MiB written, ${files.size} files at the end`,
    );
  },
  Math.max(120_000, COUNT * 6000),
);
