/**
 * A target name that is not valid UTF-8 (bytes `stray-\xff`) reads back from every
 * walk as text with U+FFFD, which names nothing on the target. Authoritative mode
 * must stop before changing anything (E_UNSAFE, naming the folder and the bytes),
 * never "delete" the stray under its lossy name. A valid name holding a real U+FFFD
 * is an ordinary stray. Real deploys through the built CLI to a real folder and a
 * real sshd (file helper), and the SFTP-only walk on that sshd.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { tempDir } from '../helpers/git.js';
import { makeRepo, type Tree } from '../helpers/repo.js';
import { startSshd, sshTargetYaml, type Sshd } from '../helpers/sshd.js';
import { SshTransport } from '../../src/transport/ssh/ssh-transport.js';
import { readState } from '../../src/apply/state.js';
import { layout } from '../../src/apply/layout.js';
import { observeWhole } from '../../src/observe/observe-authoritative.js';

const R1: Tree = { 'app/a.txt': 'aaaa\n', 'keep.txt': 'k\n' };
const R2: Tree = { ...R1, 'app/b.txt': 'bbbb\n' };
const LOSSY = Buffer.from([0x73, 0x74, 0x72, 0x61, 0x79, 0x2d, 0xff]); // "stray-" + a lone 0xff byte
const REAL_FFFD = 'real-\uFFFD.txt'; // valid UTF-8 (EF BF BD)

let sshd: Sshd | undefined;
const repo = makeRepo();
let r1 = '';
let r2 = '';
beforeAll(async () => {
  r1 = repo.commit(R1);
  r2 = repo.commit(R2);
  sshd = await startSshd();
}, 60_000);
afterAll(async () => {
  await sshd?.stop();
  repo.cleanup();
});

/** Every entry below `dir` by its exact name bytes (hex), with a file's content hash: the target as it is. */
function tree(dir: Buffer, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir, { encoding: 'buffer' })) {
    const full = Buffer.concat([dir, Buffer.from('/'), name]);
    const rel = `${prefix}${name.toString('hex')}`;
    const st = lstatSync(full);
    if (st.isDirectory()) out.push(`${rel}/`, ...tree(full, `${rel}/`));
    else out.push(`${rel} ${createHash('sha1').update(readFileSync(full)).digest('hex')}`);
  }
  return out.sort();
}

const lossyPath = (targetDir: string) => Buffer.concat([Buffer.from(join(targetDir, 'app') + '/'), LOSSY]);

describe.each(['local', 'ssh'] as const)('a target name that is not UTF-8 (%s)', (side) => {
  const ws = tempDir(`diffship-lossy-${side}-`);
  const targetDir = join(ws, 'target');
  const deploy = (to: string) =>
    cli(ws, ['deploy', '--repo', repo.dir, '--to', to, '--mode', 'authoritative', '--no-progress']);

  it('stops the authoritative deploy before changing anything, naming the folder and the bytes', () => {
    const target =
      side === 'local' ? ['  - { name: t, path: target }'] : sshTargetYaml(sshd!, targetDir, 't');
    writeFileSync(join(ws, 'diffship.yml'), ['waves: [1]', 'targets:', ...target, ''].join('\n'));
    const first = deploy(r1);
    expect(first.code, first.stderr).toBe(0);

    writeFileSync(lossyPath(targetDir), 'stray\n');
    const before = tree(Buffer.from(targetDir));
    const r = deploy(r2);
    expect(r.code, r.stdout + r.stderr).toBe(2); // found by the preflight, before anything was written
    const out = r.stderr;
    expect(out).toContain('"app" holds a name that is not valid UTF-8 (bytes "stray-\\xff")');
    expect(out).toContain('rename or remove it on the target; diffship cannot name it exactly');
    expect(out).not.toMatch(/\n\s+at /); // one line, no stack
    // Untouched: same names, same bytes, no lock, no staging litter, the stray still there.
    expect(tree(Buffer.from(targetDir))).toEqual(before);
    expect(existsSync(lossyPath(targetDir))).toBe(true);
    expect(existsSync(join(targetDir, 'app/b.txt'))).toBe(false);
  });

  it('names a folder whose name is not UTF-8, not the entries inside it', () => {
    const dir = Buffer.concat([Buffer.from(`${targetDir}/dir-`), Buffer.from([0xfe])]);
    mkdirSync(dir);
    writeFileSync(Buffer.concat([dir, Buffer.from('/inner.txt')]), 'stray\n');
    rmSync(lossyPath(targetDir));
    const before = tree(Buffer.from(targetDir));
    const r = deploy(r2);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toContain('the folder "." holds a name that is not valid UTF-8 (bytes "dir-\\xfe")');
    expect(tree(Buffer.from(targetDir))).toEqual(before);
    rmSync(dir, { recursive: true });
    writeFileSync(lossyPath(targetDir), 'stray\n');
  });

  it('deletes a valid name holding a real U+FFFD as any other stray', () => {
    rmSync(lossyPath(targetDir));
    writeFileSync(join(targetDir, 'app', REAL_FFFD), 'stray\n');
    const r = deploy(r2);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(existsSync(join(targetDir, 'app', REAL_FFFD))).toBe(false);
    expect(readFileSync(join(targetDir, 'app/b.txt'), 'utf8')).toBe('bbbb\n');
  });
});

describe('a target name that is not UTF-8 (ssh, SFTP only: no file helper)', () => {
  const ws = tempDir('diffship-lossy-sftp-');
  const targetDir = join(ws, 'target');

  async function observe() {
    const t = new SshTransport(sshd!.sshOptions(), targetDir, undefined, { bulkOps: false });
    await t.connect();
    try {
      const l = layout('.diffship');
      const state = (await readState(t, l))!;
      const view = await observeWhole(
        { transport: t, layout: l, concurrency: 8 },
        state.manifest!.files,
        new Set(),
        { manifest: state.manifest, statePath: l.state },
        'sha1',
      );
      return view.observed;
    } finally {
      await t.close();
    }
  }

  it('refuses the lossy name (it names nothing there) and keeps a real U+FFFD name', async () => {
    writeFileSync(
      join(ws, 'diffship.yml'),
      ['waves: [1]', 'targets:', '  - { name: t, path: target }', ''].join('\n'),
    );
    const first = cli(ws, [
      'deploy',
      '--repo',
      repo.dir,
      '--to',
      r1,
      '--mode',
      'authoritative',
      '--no-progress',
    ]);
    expect(first.code, first.stderr).toBe(0);

    writeFileSync(join(targetDir, 'app', REAL_FFFD), 'stray\n');
    const observed = await observe();
    expect(observed.get(`app/${REAL_FFFD}`)?.type).toBe('file');

    writeFileSync(lossyPath(targetDir), 'stray\n');
    await expect(observe()).rejects.toMatchObject({
      code: 'E_UNSAFE',
      message: expect.stringContaining('"app" holds a name that is not valid UTF-8') as unknown,
    });
    // The lossy text now also names a real entry: the walk reports that path twice; still refused.
    writeFileSync(join(targetDir, 'app', 'stray-\uFFFD'), 'valid\n');
    await expect(observe()).rejects.toMatchObject({ code: 'E_UNSAFE' });
  });
});
