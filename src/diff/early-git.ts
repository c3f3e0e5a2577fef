/**
 * git processes started before the code that uses them has loaded: the CLI's
 * launcher starts `diffship diff`'s two (src/cli/diff-early.ts) while the rest
 * of the CLI loads, and git.ts takes them over instead of starting its own.
 *
 * A process is handed over only to a request for exactly the same repository,
 * arguments, stdin and environment, so the answer is the same either way; one
 * nobody asks for is ended (`dropEarly`). Until taken, what it says is kept
 * (output, exit) and replayed in order to whoever takes it, and it holds
 * nothing open (unreferenced): a CLI that stops early (bad usage) exits at once.
 *
 * The list lives on globalThis: the launcher's copy of this module and the
 * CLI bundle's may be two different module instances.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

/** What git.ts listens to on a git process. */
export interface GitListeners {
  out(chunk: Buffer): void;
  err(chunk: Buffer): void;
  error(error: Error): void;
  close(code: number | null, signal: NodeJS.Signals | null): void;
}

type Event = { [K in keyof GitListeners]: [K, ...Parameters<GitListeners[K]>] }[keyof GitListeners];

/** A process started early: its events so far are kept until `attach`. */
export class EarlyGit {
  /** The line given to its stdin (which was then ended) before it was taken, or null. */
  fed: string | null = null;
  taken = false;
  private events: Event[] = [];
  private to: GitListeners | null = null;

  constructor(
    readonly key: string,
    readonly child: ChildProcessWithoutNullStreams,
  ) {
    child.stdout.on('data', (chunk: Buffer) => this.emit(['out', chunk]));
    child.stderr.on('data', (chunk: Buffer) => this.emit(['err', chunk]));
    child.on('error', (error) => this.emit(['error', error]));
    child.on('close', (code, signal) => this.emit(['close', code, signal]));
    child.stdin.on('error', () => {});
  }

  /** Give stdin its one line and end it, unless someone took the process already. */
  feed(line: string): void {
    if (this.taken || this.fed !== null) return;
    this.fed = line;
    this.child.stdin.end(line);
  }

  /** Replay what happened so far to `to`, then pass everything on as it comes. */
  attach(to: GitListeners): void {
    for (const event of this.events.splice(0)) dispatch(to, event);
    this.to = to;
  }

  private emit(event: Event): void {
    if (this.to === null) this.events.push(event);
    else dispatch(this.to, event);
  }
}

function dispatch(to: GitListeners, [kind, a, b]: Event): void {
  if (kind === 'out') to.out(a);
  else if (kind === 'err') to.err(a);
  else if (kind === 'error') to.error(a);
  else to.close(a, b ?? null);
}

const SLOT = Symbol.for('diffship.early-git');
type Slots = Record<symbol, EarlyGit[] | undefined>;

const keyOf = (repo: string, args: readonly string[], input: string | undefined, env: NodeJS.ProcessEnv) =>
  JSON.stringify([repo, args, input ?? null, env]);

/** `git -C <repo> <args>`, every stdio a pipe. */
export function spawnGit(
  repo: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): ChildProcessWithoutNullStreams {
  return spawn('git', ['-C', repo, ...args], { env, stdio: 'pipe' });
}

/** Start `git -C <repo> <args>` now, `input` (if any) written to its stdin and ended. */
export function startEarly(
  repo: string,
  args: readonly string[],
  input: string | undefined,
  env: NodeJS.ProcessEnv,
): EarlyGit {
  const early = new EarlyGit(keyOf(repo, args, input, env), spawnGit(repo, args, env));
  if (input !== undefined) early.child.stdin.end(input);
  setReferenced(early.child, false);
  ((globalThis as Slots)[SLOT] ??= []).push(early);
  return early;
}

/**
 * The early process started for exactly this request, now the caller's (its
 * stdin already has `input`; `attach` to hear from it), or null.
 */
export function takeEarly(
  repo: string,
  args: readonly string[],
  input: string | undefined,
  env: NodeJS.ProcessEnv,
): EarlyGit | null {
  const list = (globalThis as Slots)[SLOT];
  if (list === undefined || list.length === 0) return null;
  const key = keyOf(repo, args, input, env);
  const at = list.findIndex((e) => e.key === key);
  if (at < 0) return null;
  const early = list.splice(at, 1)[0]!;
  early.taken = true;
  setReferenced(early.child, true);
  return early;
}

/** End the early processes nobody took. */
export function dropEarly(): void {
  for (const { child } of (globalThis as Slots)[SLOT]?.splice(0) ?? []) endProcess(child);
}

/** End those of `own` nobody took (the others' early processes stay). */
export function dropOwn(own: readonly EarlyGit[]): void {
  const list = (globalThis as Slots)[SLOT];
  for (const early of own) {
    if (early.taken) continue;
    const at = list?.indexOf(early) ?? -1;
    if (at >= 0) list!.splice(at, 1);
    endProcess(early.child);
  }
}

/** Stop a git process whose answer is not wanted: pipes closed, then SIGTERM. */
export function endProcess(child: ChildProcessWithoutNullStreams): void {
  child.stdin.destroy();
  child.stdout.destroy();
  child.stderr.destroy();
  child.kill();
}

function setReferenced(child: ChildProcessWithoutNullStreams, on: boolean): void {
  if (on) child.ref();
  else child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr] as unknown as {
    ref(): void;
    unref(): void;
  }[])
    if (on) stream.ref();
    else stream.unref();
}
