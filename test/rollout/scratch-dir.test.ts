/**
 * A killed run's scratch folder (the hook change files) is removed by the next run that makes
 * one; nobody else's is. Real processes and /proc (the sweep is Linux only), a real temp folder,
 * and the built CLI killed by a real SIGKILL while its hook runs.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeScratchDir } from '../../src/scratch-dir.js';
import { makeRepo } from '../helpers/repo.js';
import { oneTarget } from '../helpers/one-target.js';
import { tempDir } from '../helpers/git.js';
import { cli, cliStart } from '../helpers/cli.js';

const linux = existsSync('/proc/self/ns/pid');
const ns = linux ? /\d+/.exec(readlinkSync('/proc/self/ns/pid'))![0] : '';
const startOf = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]!;

/** A pid no process has now: one that ran and was reaped. */
function deadPid(): number {
  const r = spawnSync('true');
  return r.pid;
}

/** Run `body` with os.tmpdir() naming `dir`. */
function withTmp<T>(dir: string, body: () => T): T {
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  try {
    return body();
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
}

describe.runIf(linux)('scratch folders', () => {
  it('a new one removes those of dead owners only: not a live one, another namespace’s or user’s, a link or a file', () => {
    const tmp = tempDir('diffship-sweep-');
    const sleeper = spawn('sleep', ['30']);
    try {
      const live = `diffship-${ns}.${sleeper.pid}.${startOf(sleeper.pid!)}-aaaaaa`;
      const dead = `diffship-${ns}.${deadPid()}.12345-bbbbbb`;
      // Its pid runs, but started at another time: the pid was reused.
      const reused = `diffship-${ns}.${sleeper.pid}.1-cccccc`;
      const otherNs = `diffship-1.${deadPid()}.12345-dddddd`;
      const deadBuild = `diffship-build-${ns}.${deadPid()}.12345-eeeeee`;
      const plain = 'diffship-ffffff';
      for (const name of [live, dead, reused, otherNs, deadBuild, plain]) {
        mkdirSync(join(tmp, name));
        writeFileSync(join(tmp, name, 'changes.json'), '{}');
      }
      // A link named as a dead owner's: the sweep removes neither it nor what it points to.
      const elsewhere = tempDir('diffship-sweep-target-');
      writeFileSync(join(elsewhere, 'keep'), 'k');
      const link = `diffship-${ns}.${deadPid()}.7-gggggg`;
      symlinkSync(elsewhere, join(tmp, link));
      const file = `diffship-${ns}.${deadPid()}.7-hhhhhh`;
      writeFileSync(join(tmp, file), 'f');
      // Another user's folder named as a dead owner's (as root, the tests can make one): not ours to remove.
      const root = process.getuid?.() === 0;
      const others = `diffship-${ns}.${deadPid()}.7-iiiiii`;
      if (root) {
        mkdirSync(join(tmp, others));
        chownSync(join(tmp, others), 65534, 65534);
      }

      // A built release's folder made first sweeps its own prefix (the dead build folder goes),
      // and does not stop the sweep of the rollout's.
      const built = withTmp(tmp, () => makeScratchDir('diffship-build-'));
      rmSync(built, { recursive: true });
      const made = withTmp(tmp, () => makeScratchDir('diffship-'));

      const left = readdirSync(tmp);
      expect(left).not.toContain(dead);
      expect(left).not.toContain(reused);
      expect(left).not.toContain(deadBuild);
      expect(left.sort()).toEqual(
        [live, otherNs, plain, link, file, ...(root ? [others] : []), made.slice(tmp.length + 1)].sort(),
      );
      expect(made.slice(tmp.length + 1)).toMatch(
        new RegExp(`^diffship-${ns}\\.${process.pid}\\.${startOf(process.pid)}-[A-Za-z0-9]{6}$`),
      );
      expect(readFileSync(join(elsewhere, 'keep'), 'utf8')).toBe('k');
      expect(readFileSync(join(tmp, live, 'changes.json'), 'utf8')).toBe('{}');
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it('the CLI killed while its hook runs leaves its folder; the next deploy with a hook removes it', async () => {
    const repo = makeRepo();
    try {
      const v1 = repo.commit({ 'a.txt': 'one\n' });
      const v2 = repo.commit({ 'a.txt': 'two\n' });
      const tmp = tempDir('diffship-killed-tmp-');
      const t = oneTarget('local', undefined, repo.dir, [
        'defaults:',
        // The hook says where its change file is, then waits for the kill.
        '  before: { run: \'echo "$DIFFSHIP_CHANGES" > changes-path; echo $$ > hook-pid; sleep 30\' }',
      ]);
      const run = cliStart(t.ws, ['deploy', '--repo', repo.dir, '--to', v1, '--no-progress'], {
        TMPDIR: tmp,
      });
      const pidFile = join(t.ws, 'hook-pid');
      for (let i = 0; i < 200 && !existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 50));
      const changes = readFileSync(join(t.ws, 'changes-path'), 'utf8').trim();
      run.child.kill('SIGKILL');
      await run.done;
      try {
        process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
      } catch {
        // gone with it
      }
      const killed = changes.slice(tmp.length + 1).split('/')[0]!;
      expect(killed).toMatch(/^diffship-\d+\.\d+\.\d+-/);
      expect(existsSync(join(tmp, killed))).toBe(true);

      // The next run's hook is quick: its own folder is removed at its end, the killed one at its start.
      writeFileSync(
        join(t.ws, 'diffship.yml'),
        readFileSync(join(t.ws, 'diffship.yml'), 'utf8').replace(/sleep 30/, 'true'),
      );
      const r = cli(t.ws, ['deploy', '--repo', repo.dir, '--to', v2, '--no-progress'], { TMPDIR: tmp });
      expect(r.code, r.stderr).toBe(0);
      expect(readdirSync(tmp).filter((n) => n.startsWith('diffship-'))).toEqual([]);
      expect(readFileSync(join(t.targetDir, 'a.txt'), 'utf8')).toBe('two\n');
    } finally {
      repo.cleanup();
    }
  });
});
