/**
 * The order a local deploy makes things durable (docs/cli.md "Durability order"), seen by
 * strace(1) on the real CLI: a kill cannot show a missing fsync (the page cache survives it).
 *
 * Safety: every rename that makes something count follows the completed fsync of all it
 * depends on. Speed (the fleet case, issue 13): the lock file is not fsynced, the journal's
 * fsync goes in one batch with the staged files and the backup, and the manifest's with the
 * state's, so a deploy waits on two fsync batches in a row instead of five fsyncs.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/cli.js';
import { tempDir } from '../helpers/git.js';
import { makeRepo } from '../helpers/repo.js';

interface Event {
  at: number;
  kind: 'fsync' | 'fsync-end' | 'rename' | 'create' | 'unlink';
  path: string;
  to?: string;
}

/** strace -f -y lines as events in order; an fsync split across lines ends at its `resumed` line. */
function parse(lines: string[]): Event[] {
  const events: Event[] = [];
  const open = new Map<string, string>(); // pid → path of its unfinished fsync
  lines.forEach((line, at) => {
    const pid = /^(\d+)\s/.exec(line)?.[1] ?? '';
    let m = /\bf(?:data)?sync\(\d+<([^>]*)>/.exec(line);
    if (m) {
      events.push({ at, kind: 'fsync', path: m[1]! });
      if (line.includes('<unfinished')) open.set(pid, m[1]!);
      else events.push({ at, kind: 'fsync-end', path: m[1]! });
      return;
    }
    if (/<\.\.\. f(?:data)?sync resumed>/.test(line) && open.has(pid)) {
      events.push({ at, kind: 'fsync-end', path: open.get(pid)! });
      open.delete(pid);
      return;
    }
    if ((m = /\brename(?:at2?)?\((?:[^,]*, )?"([^"]+)", (?:[^,]*, )?"([^"]+)"/.exec(line)))
      events.push({ at, kind: 'rename', path: m[1]!, to: m[2]! });
    else if ((m = /\bopenat\([^,]*, "([^"]+)", [^)]*O_CREAT/.exec(line)))
      events.push({ at, kind: 'create', path: m[1]! });
    else if ((m = /\bunlink(?:at)?\((?:[^,]*, )?"([^"]+)"/.exec(line)))
      events.push({ at, kind: 'unlink', path: m[1]! });
  });
  return events;
}

describe('a local deploy, under strace', () => {
  let work: string;
  let repo: ReturnType<typeof makeRepo>;
  let events: Event[];

  beforeAll(() => {
    repo = makeRepo();
    const v1: Record<string, string> = {};
    for (let i = 0; i < 6; i++) v1[`app/f${i}.txt`] = `one ${i}\n`;
    repo.commit(v1);
    execFileSync('git', ['tag', 'v1'], { cwd: repo.dir });
    const v2 = { ...v1, 'app/f1.txt': 'two 1\n', 'app/f2.txt': 'two 2\n', 'new/n.txt': 'new\n' };
    delete (v2 as Record<string, string>)['app/f3.txt'];
    repo.commit(v2);
    execFileSync('git', ['tag', 'v2'], { cwd: repo.dir });
    work = tempDir('diffship-durable-');
    writeFileSync(join(work, 'diffship.yml'), 'waves: [1]\ntargets:\n  - name: host\n    path: ./target\n');
    const deploy = (ref: string) => [BIN, 'deploy', '--repo', repo.dir, '--to', ref, '--no-progress'];
    execFileSync(process.execPath, deploy('v1'), { cwd: work, stdio: 'ignore' });
    const out = join(work, 'trace.txt');
    execFileSync(
      'strace',
      [
        ...['-f', '-y', '-qq', '-s', '4096', '-o', out],
        ...['-e', 'trace=fsync,fdatasync,syncfs,rename,renameat,renameat2,openat,unlink,unlinkat'],
        ...[process.execPath, ...deploy('v2')],
      ],
      { cwd: work, stdio: 'ignore' },
    );
    events = parse(readFileSync(out, 'utf8').split('\n'));
  });
  afterAll(() => {
    repo.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  const first = (test: (e: Event) => boolean): Event => {
    const e = events.find(test);
    expect(e, 'an expected system call is missing from the trace').toBeDefined();
    return e!;
  };
  const synced = (test: (path: string) => boolean) =>
    events.filter((e) => e.kind === 'fsync-end' && test(e.path));
  const renamedTo = (name: string) =>
    first((e) => e.kind === 'rename' && e.to!.endsWith(`/.diffship/${name}`));

  it('the journal is renamed into place only after the staged files, the backup and itself are durable', () => {
    const journal = renamedTo('journal.json');
    const staged = events.filter((e) => e.kind === 'create' && e.path.includes('/.diffship/staging/'));
    expect(staged.length).toBeGreaterThanOrEqual(3);
    for (const file of staged) {
      // A file renamed before its sync is synced under its new name (unsynced.ts): either counts.
      const done = synced((p) => p === file.path);
      expect(done.length, `${file.path} was never fsynced`).toBeGreaterThan(0);
      expect(done[0]!.at).toBeLessThan(journal.at);
    }
    const backup = synced((p) => /\/\.diffship\/backups\/[^/]+\/manifest\.json$/.test(p));
    expect(backup[0]!.at).toBeLessThan(journal.at);
    expect(synced((p) => p === journal.path)[0]!.at).toBeLessThan(journal.at);
    // …and before the first file of the target changes.
    const intoTarget = first(
      (e) => e.kind === 'rename' && e.path.includes('/.diffship/staging/') && !e.to!.includes('/.diffship/'),
    );
    expect(journal.at).toBeLessThan(intoTarget.at);
  });

  it('the state is renamed into place only after its manifest and itself are durable, then the journal goes', () => {
    const state = renamedTo('state.json');
    const manifest = synced((p) => /\/\.diffship\/manifests\/[^/]+\.tsv$/.test(p));
    expect(manifest.length).toBe(1);
    expect(manifest[0]!.at).toBeLessThan(state.at);
    expect(synced((p) => p === state.path)[0]!.at).toBeLessThan(state.at);
    const journalGone = first((e) => e.kind === 'unlink' && e.path.endsWith('/.diffship/journal.json'));
    expect(state.at).toBeLessThan(journalGone.at);
  });

  it('the lock file is not fsynced: it is a lease, and recovery needs only the journal', () => {
    expect(events.some((e) => e.kind === 'create' && /\/\.diffship\/lock\.json\.new-/.test(e.path))).toBe(
      true,
    );
    expect(synced((p) => p.includes('/.diffship/lock.json'))).toEqual([]);
  });

  it('the journal is fsynced in the same batch as the staged files, not after them', () => {
    const journalTmp = renamedTo('journal.json').path;
    const created = first((e) => e.kind === 'create' && e.path === journalTmp);
    const firstStagedSync = first((e) => e.kind === 'fsync' && e.path.includes('/.diffship/staging/'));
    expect(created.at).toBeLessThan(firstStagedSync.at);
  });

  it('the manifest and the state are fsynced together, not one after the other', () => {
    const stateTmp = renamedTo('state.json').path;
    const created = first((e) => e.kind === 'create' && e.path === stateTmp);
    const manifestSync = first(
      (e) => e.kind === 'fsync' && /\/\.diffship\/manifests\/[^/]+\.tsv$/.test(e.path),
    );
    expect(created.at).toBeLessThan(manifestSync.at);
  });
});
