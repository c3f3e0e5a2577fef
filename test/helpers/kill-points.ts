/**
 * Where a kill storm aims (test/apply/ssh-kill-storm.test.ts): the phases of a
 * deploy as the target folder shows them. The target sits on this machine (the
 * sshd is on loopback), so the test watches it directly, polling every
 * millisecond, and kills the CLI the moment the phase shows up.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const PHASES = [
  // The first ones are the CI storm's (the most at stake first); a long storm aims at all of them.
  'commit', // a few ms after the journal: renames under way
  'journal', // journal.json appeared: the renames begin
  'staging', // the first staged file appeared
  'lock', // lock.json appeared
  'state', // state.json was rewritten: the release is recorded
  'activate-hook', // the remote `activate` hook is running
  'random', // anywhere within a whole deploy's time
  'before-hook', // the remote `before` hook is running
  'backup', // this deploy's backup folder appeared
  'connect', // a random moment in the first 400 ms: start-up, connect, handshake
  'renewal', // the lock's lease is being renewed (20 s in: the activate hook runs long)
] as const;
export type Phase = (typeof PHASES)[number];

/** What is on the target before a run: a phase is the first change from it. */
export interface Before {
  backups: Set<string>;
  stateMtime: number;
  /** The lock as first seen in this run: a renewal rewrites it. */
  lock?: string;
}

export function before(target: string): Before {
  const state = join(target, '.diffship/state.json');
  return {
    backups: new Set(list(join(target, '.diffship/backups'))),
    stateMtime: existsSync(state) ? statSync(state).mtimeMs : 0,
  };
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Has `phase` begun on `target` (`marks`: the folder the hooks touch their markers in)? */
function reached(phase: Phase, target: string, marks: string, was: Before): boolean {
  const d = join(target, '.diffship');
  switch (phase) {
    case 'lock':
      return existsSync(join(d, 'lock.json'));
    case 'renewal':
      return renewing(d, was);
    case 'before-hook':
      return existsSync(join(marks, 'in-before'));
    case 'activate-hook':
      return existsSync(join(marks, 'in-activate'));
    case 'staging':
      return list(join(d, 'staging')).some((id) => list(join(d, 'staging', id)).length > 0);
    case 'backup':
      return list(join(d, 'backups')).some((id) => !was.backups.has(id));
    case 'journal':
    case 'commit':
      return existsSync(join(d, 'journal.json'));
    case 'state':
      try {
        return statSync(join(d, 'state.json')).mtimeMs !== was.stateMtime;
      } catch {
        return false;
      }
    default:
      return false;
  }
}

/** A renewal's temporary lock file is there, or the lock changed since first seen. */
function renewing(d: string, was: Before): boolean {
  if (list(d).some((name) => name.startsWith('lock.json.tmp-'))) return true;
  let lock: string;
  try {
    lock = readFileSync(join(d, 'lock.json'), 'utf8');
  } catch {
    return false;
  }
  was.lock ??= lock;
  return lock !== was.lock;
}

/** Poll until `phase` shows (true) or `gone` says the run ended (false), at most `limitMs`. */
export async function waitFor(
  phase: Phase,
  target: string,
  marks: string,
  was: Before,
  gone: () => boolean,
  limitMs = 60_000,
): Promise<boolean> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (reached(phase, target, marks, was)) return true;
    if (gone()) return false;
    await new Promise((r) => setTimeout(r, 1));
  }
  return false;
}

/** Entries of the state folder that only a run in progress leaves: none may remain after a run. */
export function litter(target: string): string[] {
  const d = join(target, '.diffship');
  const out: string[] = [];
  for (const name of list(d)) {
    // changes.json: the change set remote hooks read (docs/hooks-and-checks.md), kept between runs.
    if (['state.json', 'manifests', 'backups', 'changes.json'].includes(name)) continue;
    if (name === 'staging' && list(join(d, 'staging')).length === 0) continue;
    out.push(name === 'staging' ? `staging/${list(join(d, 'staging')).join(',')}` : name);
  }
  const recorded = recordedDeploy(target);
  for (const id of list(join(d, 'backups'))) {
    const listing = join(d, 'backups', id, 'manifest.json');
    if (!existsSync(listing)) out.push(`backups/${id} (no manifest)`);
    // Taken over the recorded deploy, yet newer than it: its deploy never committed.
    else if (recorded !== null && id > recorded && previousDeploy(listing) === recorded)
      out.push(`backups/${id} (never committed)`);
  }
  return out;
}

function previousDeploy(listing: string): string | null {
  try {
    return (
      (JSON.parse(readFileSync(listing, 'utf8')) as { previousState: { deployId: string } | null })
        .previousState?.deployId ?? null
    );
  } catch {
    return null;
  }
}

/** The deploy id the state names, if any. */
export function recordedDeploy(target: string): string | null {
  try {
    return (JSON.parse(readFileSync(join(target, '.diffship/state.json'), 'utf8')) as { deployId: string })
      .deployId;
  } catch {
    return null;
  }
}
