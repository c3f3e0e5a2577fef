/**
 * A deploy to an SSH target connects once (issue 13): preflight's connection
 * is handed on to the target's deploy in the first wave, so the host starts one
 * remote shell (the file helper; SFTP is never opened by such a deploy), not two. Connections
 * nobody takes (a later wave, a rollout stopped before its first wave) are
 * closed when the rollout ends. A real sshd; the login user's ~/.bashrc logs
 * each remote shell start (bash runs it for every command sshd starts).
 */
import { mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploy } from '../../src/api.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { makeRepo, snapshot } from '../helpers/repo.js';
import { tempDir } from '../helpers/git.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';

let sshd: Sshd;
let root: string;
let log: string;
let repo: ReturnType<typeof makeRepo>;
beforeAll(async () => {
  root = realpathSync(tempDir('diffship-one-connection-'));
  log = path.join(root, 'shells.log');
  const home = path.join(root, 'home');
  mkdirSync(home);
  writeFileSync(path.join(home, '.bashrc'), `echo "start $$" >> '${log}'\n`);
  sshd = await startSshd({ config: [`SetEnv HOME=${home}`] });
  repo = makeRepo();
}, 60_000);
afterAll(async () => {
  await sshd?.stop();
  repo?.cleanup();
  rmSync(root, { recursive: true, force: true });
});

const target = (name: string) => ({
  name,
  type: 'ssh',
  host: '127.0.0.1',
  port: sshd.port,
  user: sshd.user,
  path: path.join(root, name),
  'identity-file': sshd.identityFile,
  'known-hosts': path.join(sshd.dir, 'known_hosts'),
});
const shells = () => readFileSync(log, 'utf8').split('\n').filter(Boolean).length;

/** The per-connection sshd processes are gone (a closed connection's end a moment after the client's). */
async function noSessions(): Promise<number[]> {
  for (let i = 0; i < 60 && sshd.sessionPids().length > 0; i++) await new Promise((r) => setTimeout(r, 50));
  return sshd.sessionPids();
}

describe('one SSH connection per target and deploy', () => {
  it('deploys over the connection preflight opened: one round of remote shells, nothing left open', async () => {
    mkdirSync(path.join(root, 'a'));
    const config = resolveConfig({ mode: 'authoritative', targets: [target('a')] }, { baseDir: root });
    const v1 = repo.commit({ 'app.json': '1\n', 'lib/x.json': 'x\n' });
    const v2 = repo.commit({ 'app.json': '2\n', 'lib/y.json': 'y\n' });
    expect((await deploy({ config, repo: repo.dir, to: v1 })).status).toBe('succeeded');
    writeFileSync(log, '');
    const r = await deploy({ config, repo: repo.dir, to: v2 });
    expect(r.status, JSON.stringify(r.targets[0]?.error)).toBe('succeeded');
    expect(snapshot(path.join(root, 'a'), ['.diffship'])).toEqual(snapshot(repo.dir, ['.git']));
    // The file helper, once: preflight's connection did the deploy, with no SFTP session.
    expect(shells()).toBe(1);
    expect(await noSessions()).toEqual([]);
  }, 60_000);

  it('closes connections no deploy takes: a later wave reconnects, a stopped rollout leaves none open', async () => {
    for (const name of ['b', 'c']) mkdirSync(path.join(root, name));
    const v3 = repo.commit({ 'app.json': '3\n' });
    const twoWaves = resolveConfig({ waves: [1, 1], targets: [target('b'), target('c')] }, { baseDir: root });
    writeFileSync(log, '');
    const r = await deploy({ config: twoWaves, repo: repo.dir, to: v3 });
    expect(r.status, JSON.stringify(r.targets.map((t) => t.error))).toBe('succeeded');
    // b: preflight's connection; c (wave 2): preflight's, closed, and its own.
    expect(shells()).toBe(3);
    expect(await noSessions()).toEqual([]);

    const stopped = resolveConfig(
      { 'before-rollout': { run: 'exit 3' }, targets: [target('b')] },
      { baseDir: root },
    );
    const s = await deploy({ config: stopped, repo: repo.dir, to: repo.commit({ 'app.json': '4\n' }) });
    expect(s.status).toBe('failed');
    expect(await noSessions()).toEqual([]);
  }, 60_000);

  it('connects while it reads the release: a first deploy starts one round of shells, a release that cannot be read leaves none open', async () => {
    const config = resolveConfig({ targets: [target('fresh')] }, { baseDir: root });
    const v5 = repo.commit({ 'app.json': '5\n' });
    writeFileSync(log, '');
    const r = await deploy({ config, repo: repo.dir, to: v5 });
    expect(r.status, JSON.stringify(r.targets[0]?.error)).toBe('succeeded');
    expect(snapshot(path.join(root, 'fresh'), ['.diffship'])).toEqual(snapshot(repo.dir, ['.git']));
    // The early connection found no folder: preflight took that answer (no second try), and the
    // deploy created the folder over that same connection (no second handshake, no second shell).
    expect(shells()).toBe(1);
    expect(await noSessions()).toEqual([]);

    await expect(deploy({ config, repo: repo.dir, to: 'no-such-release' })).rejects.toThrow(
      /no-such-release/,
    );
    expect(await noSessions()).toEqual([]);
  }, 60_000);
});
