/**
 * A stall on our side (issue 13): a deploy to an SSH target is SIGSTOPped in
 * its commit (it sends the signal to itself after its first rename), its
 * lease runs out, and another deploy takes the target over — recovers what
 * the paused one left and ships its own release. When the
 * paused process is continued (SIGCONT) in the middle of the new owner's
 * commit, it must not write over the new owner's deploy: it sees that it was
 * paused past its lease, touches nothing more, and fails with one line. The
 * new owner's deploy lands exactly.
 *
 * The paused deploy is a real process using the library (lib/, built by the
 * global setup) with a 4 s lease, so the test does not wait a minute for the
 * CLI's; the one that takes over is the real CLI.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cli, cliStart } from '../helpers/cli.js';
import { git, tempDir } from '../helpers/git.js';
import { litter, recordedDeploy } from '../helpers/kill-points.js';
import { makeRepo, snapshot, type SnapEntry, type Tree } from '../helpers/repo.js';
import { startSshd, sshTargetYaml, type Sshd } from '../helpers/sshd.js';

const LIB = fileURLToPath(new URL('../../lib/', import.meta.url));
// Short enough not to wait a minute, long enough that a loaded machine still renews it in time.
const LEASE = { leaseMs: 4000, renewMs: 250 };

let sshd: Sshd;
let ws: string;
let target: string;
const repo = makeRepo();
const snaps: Record<string, Record<string, SnapEntry>> = {};
const shas: Record<string, string> = {};

/** Every file changes in every release, so each commit has many renames to do. */
function release(tag: string): Tree {
  const tree: Tree = {};
  for (let i = 0; i < 300; i++) tree[`d${i % 8}/f${i}.txt`] = `${tag} file ${i}\n`.repeat(1 + (i % 9));
  if (tag !== 'v1') tree[`only-${tag}.txt`] = tag;
  return tree;
}

beforeAll(async () => {
  sshd = await startSshd();
  ws = tempDir('diffship-fencing-');
  target = join(ws, 'target');
  for (const tag of ['v1', 'v2', 'v3']) {
    const tree = release(tag);
    shas[tag] = repo.commit(Object.fromEntries(Object.entries(tree).map(([p, c]) => [`app/${p}`, c])), tag);
    git(repo.dir, 'tag', tag);
    snaps[tag] = snapshot(join(repo.dir, 'app'));
  }
  writeFileSync(
    join(ws, 'diffship.yml'),
    ['source: app', 'mode: authoritative', 'targets:', ...sshTargetYaml(sshd, target), ''].join('\n'),
  );
  // The paused deploy: TargetSession over SshTransport, as the rollout drives it, with a short lease.
  writeFileSync(
    join(ws, 'paused-deploy.mjs'),
    [
      `import { TargetSession } from ${JSON.stringify(join(LIB, 'apply/session.js'))};`,
      `import { SshTransport } from ${JSON.stringify(join(LIB, 'transport/ssh/ssh-transport.js'))};`,
      'const { ssh, root, repo, to, lease } = JSON.parse(process.argv[2]);',
      'const log = { debug() {}, info() {}, warn: (m) => console.log(`warn: ${m}`), error: (m) => console.log(`error: ${m}`) };',
      "const s = await TargetSession.open({ transport: new SshTransport(ssh, root), stateDir: '.diffship', command: 'deploy', deployId: 'paused-one', lease, log });",
      'try {',
      "  const plan = await s.plan({ repo, to, mode: 'authoritative', onDrift: 'fail', source: 'app' });",
      // A real SIGSTOP, sent to itself after its first rename: the pause lands mid-commit every time.
      "  await s.apply(plan, repo, (p) => p.phase === 'commit' && p.done === 1 && process.kill(process.pid, 'SIGSTOP'));",
      "  console.log('deployed');",
      '} catch (e) {',
      '  console.log(`failed: ${e.code}: ${e.message}`);',
      '  process.exitCode = 1;',
      '} finally {',
      '  await s.close();',
      '}',
      '',
    ].join('\n'),
  );
});
afterAll(async () => {
  await sshd?.stop();
  repo.cleanup();
  rmSync(ws, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: () => boolean, limitMs = 60_000): Promise<boolean> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (what()) return true;
    await sleep(1);
  }
  return false;
}

function journalOf(): string | null {
  try {
    return (JSON.parse(readFileSync(join(target, '.diffship/journal.json'), 'utf8')) as { deployId: string })
      .deployId;
  } catch {
    return null;
  }
}

it('a deploy paused past its lease, continued during the new owner’s commit, writes nothing more', async () => {
  const first = cli(ws, ['deploy', '--repo', repo.dir, '--to', 'v1', '--no-progress']);
  expect(first.code, first.stderr).toBe(0);

  const args = { ssh: sshd.sshOptions(), root: target, repo: repo.dir, to: shas.v2, lease: LEASE };
  const paused = spawn(process.execPath, [join(ws, 'paused-deploy.mjs'), JSON.stringify(args)]);
  let out = '';
  paused.stdout.on('data', (d: Buffer) => (out += d.toString()));
  paused.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const pausedDone = new Promise<number | null>((r) => paused.on('close', (code) => r(code)));
  // It stops itself after its first rename (the rest of its commit is still to come).
  const stopped = () => {
    try {
      return readFileSync(`/proc/${paused.pid}/stat`, 'utf8').split(') ')[1]?.startsWith('T') === true;
    } catch {
      return false;
    }
  };
  expect(await until(() => stopped() || paused.exitCode !== null), out).toBe(true);
  expect(stopped(), `it ended before its commit: ${out}`).toBe(true);
  expect(journalOf()).toBe('paused-one');
  try {
    await sleep(LEASE.leaseMs + 500);
    // The paused one's process is alive (stopped), but its lease ran out: the next deploy takes over.
    const next = cliStart(ws, ['deploy', '--repo', repo.dir, '--to', 'v3', '--no-progress']);
    // Continued while the new owner commits (its journal is on the target).
    const mid = await until(() => {
      const j = journalOf();
      return (j !== null && j !== 'paused-one') || next.child.exitCode !== null;
    });
    expect(mid).toBe(true);
    paused.kill('SIGCONT');
    const taken = await next.done;
    const code = await pausedDone;
    expect(taken.stderr, 'the new owner took over a stale lock').toMatch(/taking over a stale lock/);
    expect(taken.code, `${taken.stdout}${taken.stderr}\npaused one: ${out}`).toBe(0);
    expect(code, out).toBe(1);
    expect(out).toMatch(/failed: E_LOCK: .*lost its lock/);
    expect(
      out
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('failed')),
    ).toHaveLength(1);
    // It did not try to undo anything: the target is the new owner's.
    expect(out).not.toMatch(/undo|undid|^error:/m);
    expect(snapshot(target)).toEqual(snaps.v3);
    expect(recordedDeploy(target)).not.toBe('paused-one');
    expect(existsSync(join(target, '.diffship/lock.json'))).toBe(false);
    expect(litter(target)).toEqual([]);
  } finally {
    paused.kill('SIGCONT');
    paused.kill('SIGKILL');
  }
}, 120_000);
