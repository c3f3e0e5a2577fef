/**
 * File names with spaces, unicode and worse survive a deploy, an update and
 * a rollback to an ssh target, through the real CLI and a real OpenSSH server
 * (SFTP carries names as UTF-8; the host-side hashing reads them NUL-separated).
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { makeRepo, type Tree } from '../helpers/repo.js';
import { git, tempDir } from '../helpers/git.js';
import { startSshd, type Sshd, sshTargetYaml } from '../helpers/sshd.js';
import { exactTree, HOSTILE } from './conformance.js';

let sshd: Sshd;
let repo: ReturnType<typeof makeRepo>;
let ws: string;
let target: string;
let tree1: Record<string, string>;
let tree2: Record<string, string>;

beforeAll(async () => {
  sshd = await startSshd();
  repo = makeRepo();
  const v1: Tree = {};
  const v2: Tree = {};
  const names = [
    ...HOSTILE,
    'Ordner mit Leerzeichen',
    'café crème.json',
    'emoji 🚀 file.json',
    'tab\tname.json',
  ];
  names.forEach((n, i) => {
    v1[`${n}`] = `v1 ${i}\n`;
    v1[`dir ${n}/${n}`] = `nested v1 ${i}\n`;
    v2[`${n}`] = i % 2 === 0 ? `v2 ${i}\n` : `v1 ${i}\n`;
    if (i % 3 !== 0) v2[`dir ${n}/${n}`] = `nested v1 ${i}\n`; // the others are deleted
    v2[`added ${n}`] = { link: n };
  });
  repo.commit(v1);
  git(repo.dir, 'tag', 'v1');
  tree1 = exactTree(repo.dir, ['.git']);
  repo.commit(v2);
  git(repo.dir, 'tag', 'v2');
  tree2 = exactTree(repo.dir, ['.git']);
  ws = tempDir('diffship-ssh-names-');
  target = join(ws, 'zielordner ünï');
  writeFileSync(
    join(ws, 'diffship.yml'),
    ['mode: authoritative', 'targets:', ...sshTargetYaml(sshd, target), ''].join('\n'),
  );
});
afterAll(async () => {
  await sshd?.stop();
  repo?.cleanup();
  rmSync(ws, { recursive: true, force: true });
});

const run = (...args: string[]) => {
  const r = cli(ws, [...args, '--repo', repo.dir, '--no-progress']);
  expect(r.code, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(0);
  return r;
};

describe('names with spaces and unicode over ssh', () => {
  it('survive deploy, update and rollback byte for byte', () => {
    run('deploy', '--to', 'v1');
    expect(exactTree(target)).toEqual(tree1);
    run('deploy', '--to', 'v2');
    expect(exactTree(target)).toEqual(tree2);
    // A rerun finds nothing to do: every odd name hashed on the host matched its blob.
    const again = cli(ws, ['deploy', '--to', 'v2', '--repo', repo.dir, '--no-progress', '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).targets[0].status).toBe('unchanged');
    run('rollback');
    expect(exactTree(target)).toEqual(tree1);
    run('rollback');
    expect(exactTree(target)).toEqual({});
    expect(existsSync(join(target, 'pwned'))).toBe(false);
  });
});
