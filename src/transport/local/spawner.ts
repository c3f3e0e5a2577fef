/**
 * Starting `/bin/sh -c <command>` on this machine without forking Node.
 *
 * Node's spawn forks the whole Node process on the main thread and waits there
 * until the child has exec'd: milliseconds per command on a busy machine, while
 * every other target of the rollout waits. Commands go to one long-lived helper
 * instead: Python's posix_spawn (spawner-python.ts, no fork of the helper), else
 * perl's fork of a few MiB (spawner-script.ts), both off our event loop. Where
 * neither can start, Node's spawn does the job as before.
 *
 * Either way the child is `/bin/sh -c command` leading its own session and
 * process group (pgid = pid), stdin /dev/null, stdout and stderr piped back.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { EventEmitter } from 'node:events';
import os from 'node:os';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { SPAWNER_PYTHON } from './spawner-python.js';
import { SPAWNER_SCRIPT } from './spawner-script.js';

/** A started shell: 'exit' (code, signal name) or 'error' (could not start), then its pipes end. */
export interface ShellChild extends EventEmitter {
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Calls `fn` with the pid (= the process group) once it is known; never when it did not start. */
  whenStarted(fn: (pid: number) => void): void;
  /** Stop reading its output (after the result is in). */
  release(): void;
}

/**
 * Start `/bin/sh -c command` in `cwd` with exactly `env`, on top of `base` when given: an
 * environment shared by many commands (a rollout's filtered environment, the same object for
 * every hook), which goes to the helper once, not with every command.
 */
export function spawnShell(
  command: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
  base?: Readonly<Record<string, string>>,
): ShellChild {
  const helper = currentHelper();
  return helper ? helper.start(command, cwd, env, base) : direct(command, cwd, { ...base, ...env });
}

/** Node's own spawn (no perl here). */
function direct(command: string, cwd: string, env: NodeJS.ProcessEnv): ShellChild {
  const child = spawn('/bin/sh', ['-c', command], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const shell = Object.assign(new EventEmitter(), {
    stdout: child.stdout,
    stderr: child.stderr,
    whenStarted: (fn: (pid: number) => void) => child.pid !== undefined && fn(child.pid),
    release: () => {
      child.stdout.destroy();
      child.stderr.destroy();
    },
  });
  child.on('error', (error) => shell.emit('error', error));
  child.on('exit', (code, signal) => shell.emit('exit', code, signal));
  return shell;
}

const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex');
const envBlock = (env: NodeJS.ProcessEnv) =>
  Object.entries(env)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${v}`)
    .join('\0');
const signalNames = new Map(Object.entries(os.constants.signals).map(([name, n]) => [n, name]));
const errnoNames = new Map(Object.entries(os.constants.errno).map(([name, n]) => [n, name]));

class HelperChild extends EventEmitter implements ShellChild {
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  pid: number | undefined;
  /** Exit (or start failure) and the ends of both streams seen: the helper forgot it already. */
  private exited = false;
  private ends = 0;
  private waiting: Array<(pid: number) => void> = [];
  constructor(private readonly onRelease: () => void) {
    super();
  }
  whenStarted(fn: (pid: number) => void): void {
    if (this.pid !== undefined) fn(this.pid);
    else this.waiting.push(fn);
  }
  started(pid: number): void {
    this.pid = pid;
    for (const fn of this.waiting.splice(0)) fn(pid);
  }
  release(): void {
    this.stdout.destroy();
    this.stderr.destroy();
    this.onRelease();
  }
  /** An E, X or F message came for it. */
  saw(kind: 'end' | 'exit'): void {
    if (kind === 'end') this.ends++;
    else this.exited = true;
  }
  /** Nothing more will come: the helper dropped it on its own, no C needed. */
  get done(): boolean {
    return this.exited && this.ends === 2;
  }
}

/** The perl process and the commands in flight through it. */
class Helper {
  private readonly kids = new Map<number, HelperChild>();
  private nextId = 1;
  private pending = '';
  private outgoing: string[] = [];
  /** Shared environments the helper holds, by their number in its `B` messages. */
  private readonly bases = new WeakMap<object, number>();
  dead = false;

  constructor(private readonly proc: ChildProcessByStdio<Writable, Readable, null>) {
    proc.stdout.setEncoding('latin1');
    proc.stdout.on('data', (chunk: string) => this.receive(chunk));
    proc.stdin.on('error', () => undefined);
    proc.on('error', () => this.fail('the spawn helper could not start'));
    proc.on('exit', () => this.fail('the spawn helper ended'));
    // Idle, it must not keep diffship running; a command in flight does (refresh()).
    proc.unref();
    this.refresh();
  }

  start(
    command: string,
    cwd: string,
    env: NodeJS.ProcessEnv,
    base?: Readonly<Record<string, string>>,
  ): ShellChild {
    const id = this.nextId++;
    const kid = new HelperChild(() => this.forget(id));
    this.kids.set(id, kid);
    let baseId = base === undefined ? undefined : this.bases.get(base);
    if (base !== undefined && baseId === undefined) {
      baseId = this.nextId++;
      this.bases.set(base, baseId);
      this.send(`B ${baseId} ${hex(envBlock(base))}\n`);
    }
    this.send(`R ${id} ${hex(cwd)} ${hex(command)} ${hex(envBlock(env))} ${baseId ?? '-'}\n`);
    this.refresh();
    return kid;
  }

  private forget(id: number): void {
    const kid = this.kids.get(id);
    if (!kid) return;
    this.kids.delete(id);
    // A finished command is forgotten by the helper too; one still holding its pipes is dropped.
    if (!this.dead && !kid.done) this.send(`C ${id}\n`);
    this.refresh();
  }

  /** Messages of one tick go in one write: a pipe write per command costs a syscall on the main thread. */
  private send(line: string): void {
    if (this.outgoing.length === 0) queueMicrotask(() => this.flush());
    this.outgoing.push(line);
  }

  private flush(): void {
    if (!this.dead && this.outgoing.length > 0) this.proc.stdin.write(this.outgoing.join(''));
    this.outgoing = [];
  }

  private refresh(): void {
    const streams = [this.proc.stdout, this.proc.stdin] as unknown as Array<{ ref(): void; unref(): void }>;
    for (const s of streams)
      if (this.kids.size > 0 && !this.dead) s.ref();
      else s.unref();
  }

  private receive(chunk: string): void {
    this.pending += chunk;
    let nl: number;
    while ((nl = this.pending.indexOf('\n')) >= 0) {
      const line = this.pending.slice(0, nl);
      this.pending = this.pending.slice(nl + 1);
      this.message(line.split(' '));
    }
  }

  private message([kind, idText, a, b]: string[]): void {
    const kid = this.kids.get(Number(idText));
    if (!kid) return;
    const stream = a === '1' ? kid.stdout : kid.stderr;
    if (kind === 'E' || kind === 'X' || kind === 'F') kid.saw(kind === 'E' ? 'end' : 'exit');
    if (kind === 'O' && !stream.destroyed) stream.write(Buffer.from(b ?? '', 'hex'));
    else if (kind === 'E' && !stream.destroyed) stream.end();
    else if (kind === 'P') kid.started(Number(a));
    else if (kind === 'X') {
      const signal = b === '-' ? null : (signalNames.get(Number(b)) ?? `signal ${b}`);
      kid.emit('exit', a === '-' ? null : Number(a), signal);
    } else if (kind === 'F') {
      const code = errnoNames.get(Number(a)) ?? `errno ${a}`;
      kid.emit('error', Object.assign(new Error(`spawn /bin/sh ${code}`), { code }));
    }
  }

  /** The helper is gone: commands in flight fail, later ones use Node's spawn. */
  private fail(why: string): void {
    if (this.dead) return;
    this.dead = true;
    for (const kid of this.kids.values()) {
      // Nothing outlives its result: what the helper started is ended with it.
      kid.whenStarted((pid) => killQuietly(-pid));
      kid.emit('error', new Error(why));
    }
    this.kids.clear();
    this.refresh();
    if (helper === this) helper = null;
  }
}

let helper: Helper | null | undefined;
const SYSTEM_PYTHON = '/usr/bin/python3';

/** The running helper, started on first use; null when neither Python nor perl can start or the helper died. */
function currentHelper(): Helper | null {
  if (helper !== undefined) return helper;
  // Python spawns without forking itself (spawner-python.ts); its script execs the perl helper where it
  // cannot. The system's Python, by its path: a `python3` on PATH may be a version manager's shim (pyenv's
  // is a bash script, ~2.5 s to start on a loaded machine), and the helper needs nothing but the stdlib.
  // Linux only: that is where the fork's cost was measured, and macOS's /usr/bin/python3 may be the
  // stub that asks to install the developer tools.
  const python =
    process.platform === 'linux'
      ? startHelper(SYSTEM_PYTHON, ['-I', '-S', '-c', SPAWNER_PYTHON, SPAWNER_SCRIPT])
      : undefined;
  const proc = python ?? startHelper('perl', ['-e', SPAWNER_SCRIPT]);
  helper = proc ? new Helper(proc) : null;
  return helper;
}

/** The helper process, or undefined where `program` is not there (or not on PATH). */
function startHelper(
  program: string,
  args: string[],
): ChildProcessByStdio<Writable, Readable, null> | undefined {
  try {
    const proc = spawn(program, args, {
      // its own complaints, if any, are not ours to show.
      stdio: ['pipe', 'pipe', 'ignore'],
      detached: true,
      // The helper needs nothing of ours (each command gets its own environment): no secrets in its environ.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
    });
    if (proc.pid !== undefined) return proc;
    proc.on('error', () => undefined); // not here (ENOENT comes as an event): the next one it is
  } catch {
    // the next one it is
  }
  return undefined;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}
