import type { ClientChannel } from 'ssh2';
import { DiffshipError, TransportError } from '../../errors.js';
import { createLimiter, type Limiter } from '../limit.js';
import { KILL_GRACE_MS, OUTPUT_CAP } from '../command-limits.js';
import { parseProbe, PROBE_COMMAND, type HashProbe } from './hash-commands.js';
import { exportLine, shellQuote } from '../shell-quote.js';
import type { SshConnection } from './connection.js';
import { watchIdle } from './deadline.js';
import { TailBuffer } from '../tail-buffer.js';
import type { ExecOptions, ExecResult } from '../transport.js';

/** Exit status of exec channels, by channel (see `execChannel`). */
const exitStatus = new WeakMap<ClientChannel, { code: number | null; signal: string | null }>();
/**
 * Exec channels open at once on one connection. OpenSSH allows 10 sessions per
 * connection by default (MaxSessions), and the SFTP channel takes one more; past
 * the limit sshd refuses the open ("open failed").
 */
const EXEC_CHANNELS = 8;
/** Waits before retrying an exec channel the server refused (a session slot not yet freed). */
const OPEN_RETRY_MS = [20, 50, 100, 200, 400];

/** Prefix of the line an exec'd command writes first to stderr (then stripped): its pid. */
const PID_MARKER = 'diffship-pid:';
const PID_LINE = /(^|\n)diffship-pid:(\d+)\n/;

export interface Capabilities extends HashProbe {
  exec: boolean;
}

/** A host where the file helper runs (its tools for sh are asked of tools() if ever needed). */
const HELPER_CAPS: Capabilities = { exec: true, perl: true, tools: { sha1: null, sha256: null } };

/** A host where exec does not work: SFTP does everything. */
const SFTP_ONLY: Capabilities = { exec: false, perl: false, tools: { sha1: null, sha256: null } };

/**
 * Commands on the host over exec channels: the caller's commands (output kept to
 * its tail, stopped on timeout or abort), the internal ones (probe, hashing, rm,
 * mv, sync), and the probe of what the host can run. At most EXEC_CHANNELS are
 * open at once.
 */
export class SshExec {
  /** Exec channels open at once (see EXEC_CHANNELS). */
  private readonly slots: Limiter = createLimiter(EXEC_CHANNELS);
  private capabilities: Promise<Capabilities> | undefined;
  private probed: Promise<Capabilities> | undefined;
  /** The file helper's start (perl-helper-client.ts): true once it said it is ready. */
  private helperUp: Promise<boolean> | undefined;

  constructor(private readonly conn: SshConnection) {}

  /** Probe again on the next call (a failed connection attempt is forgotten). */
  forget(): void {
    this.capabilities = undefined;
    this.probed = undefined;
    this.helperUp = undefined;
  }

  /**
   * The file helper is starting: its ready line proves that exec works and that perl with
   * Digest::SHA runs, so caps() needs no probe of its own (a remote shell start, slow where an rc
   * file is) unless the helper does not come up.
   */
  helperStarting(up: Promise<boolean>): void {
    this.helperUp = up;
  }

  /** What the host can run: from the file helper's start where it runs, else probed with one exec. */
  caps(): Promise<Capabilities> {
    this.capabilities ??= (this.helperUp ?? Promise.resolve(false)).then((up) =>
      up ? HELPER_CAPS : this.probe(),
    );
    return this.capabilities;
  }

  /** The host's hashing tools for sh (hash-commands.ts), probed with one exec when first asked. */
  async tools(): Promise<Capabilities['tools']> {
    return (await this.probe()).tools;
  }

  /** What the host can run, probed once per connection with one exec. */
  private probe(): Promise<Capabilities> {
    const host = this.conn.target.host;
    this.probed ??= this.runRaw(PROBE_COMMAND, Buffer.alloc(0), { root: false })
      .then((run) => {
        const probe = parseProbe(run.stdout.toString('utf8'));
        if (!probe) this.conn.log.debug(`ssh: exec is not usable on ${host}; using SFTP only`);
        else
          this.conn.log.debug(
            `ssh: host tools on ${host}: perl=${probe.perl} sha1=${probe.tools.sha1 ?? 'none'} sha256=${probe.tools.sha256 ?? 'none'}`,
          );
        return probe ? { exec: true, ...probe } : SFTP_ONLY;
      })
      .catch((error: unknown) => {
        if (this.conn.lost || this.conn.closing) throw error;
        this.conn.log.debug(`ssh: exec is not usable on ${host} (${this.conn.why(error)}); using SFTP only`);
        return SFTP_ONLY;
      });
    return this.probed;
  }

  /** Run an internal command in the root and require exit 0. */
  async shell(command: string): Promise<void> {
    const run = await this.runRaw(command, Buffer.alloc(0));
    if (run.code !== 0) {
      const how = run.signal
        ? `was killed by ${run.signal}`
        : run.code === null
          ? 'ended without an exit status'
          : `exited ${run.code}`;
      throw new Error(`${command.split(' ')[0]} ${how}: ${run.stderr.trim().slice(0, 300)}`);
    }
  }

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const conn = this.conn;
    const env = exportLine(options.env);
    // The first stderr line tells the session's pid (its process group: sshd setsid()s each
    // session), so a timeout can kill the whole group. Each part is on its own line: a failed
    // cd must stop the command, not run it elsewhere.
    const script = `echo ${PID_MARKER}$$ >&2\ncd ${shellQuote(conn.base)} || exit 1\n${env ? `${env}\n` : ''}${command}`;
    if (options.signal?.aborted) throw cancelled();
    await this.requireExec();
    const channel = await this.openExec(script);
    return new Promise<ExecResult>((resolve, reject) => {
      const stdout = new TailBuffer(OUTPUT_CAP);
      const stderr = new TailBuffer(OUTPUT_CAP);
      const marker = new PidMarker();
      let pid: number | undefined;
      let timedOut = false;
      let aborted = false;
      let settled = false;
      const timers: NodeJS.Timeout[] = [];
      const result = (): ExecResult => ({
        code: exitStatus.get(channel)?.code ?? null,
        signal: exitStatus.get(channel)?.signal ?? null,
        stdout: stdout.text(),
        stderr: stderr.text(),
        timedOut,
      });
      let stopping: 'TERM' | 'KILL' | null = null;
      const stop = () => {
        if (stopping) return;
        // Signal requests work for non-root logins (OpenSSH refuses them without privilege
        // separation, i.e. for root); killing the process group by pid works for both.
        stopping = 'TERM';
        this.signalRemote(channel, pid, 'TERM');
        timers.push(
          setTimeout(() => {
            stopping = 'KILL';
            this.signalRemote(channel, pid, 'KILL');
          }, KILL_GRACE_MS),
        );
        timers.push(setTimeout(() => channel.close(), KILL_GRACE_MS + 500));
        // sshd may hold the channel open while an orphan keeps its pipes: give up waiting.
        timers.push(setTimeout(() => finish(result()), KILL_GRACE_MS + 2000));
      };
      if (options.timeoutMs !== undefined && options.timeoutMs > 0) {
        timers.push(
          setTimeout(() => {
            timedOut = true;
            stop();
          }, options.timeoutMs),
        );
      }
      const onAbort = () => {
        aborted = true;
        stop();
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (options.signal?.aborted) onAbort(); // aborted while the channel was opening
      const onLost = (error: Error) => finish(error);
      conn.pending.add(onLost);
      const finish = (outcome: ExecResult | Error) => {
        if (settled) return;
        settled = true;
        for (const t of timers) clearTimeout(t);
        options.signal?.removeEventListener('abort', onAbort);
        conn.pending.delete(onLost);
        if (outcome instanceof Error) reject(outcome);
        else if (aborted) reject(cancelled());
        else resolve(outcome);
      };
      channel.on('data', (chunk: Buffer) => stdout.push(chunk));
      channel.stderr.on('data', (chunk: Buffer) => {
        const keep = marker.filter(chunk);
        if (pid === undefined && marker.pid !== undefined) {
          pid = marker.pid;
          // Stopped before the pid was known: signal the group now.
          if (stopping) this.signalRemote(channel, pid, stopping);
        }
        if (keep) stderr.push(keep);
      });
      channel.on('close', () => {
        if (conn.lost && !exitStatus.has(channel) && !timedOut && !aborted) return finish(conn.lost);
        finish(result());
      });
      channel.end();
    });
  }

  /** On an SFTP-only account (ForceCommand internal-sftp) any command "succeeds" doing nothing: refuse. */
  private async requireExec(): Promise<void> {
    if ((await this.caps()).exec) return;
    throw new TransportError(
      'E_TRANSPORT',
      `${this.conn.description}: remote commands cannot run on this host (exec is not usable, e.g. an SFTP-only account); use a local run: command instead`,
    );
  }

  /** Signal a running command: a channel signal request, and kill(1) on its process group. */
  private signalRemote(channel: ClientChannel, pid: number | undefined, name: 'TERM' | 'KILL'): void {
    try {
      channel.signal(name);
    } catch {
      // The channel is already closed.
    }
    if (pid === undefined || this.conn.lost || this.conn.closing) return;
    this.runRaw(
      `kill -${name} -${pid} 2>/dev/null || kill -${name} ${pid} 2>/dev/null; exit 0`,
      Buffer.alloc(0),
      { root: false, urgent: true },
    ).catch(() => undefined);
  }

  private openExec(command: string): Promise<ClientChannel> {
    return this.execChannel(command).catch((error: unknown) => {
      throw this.conn.fail('run a command in', this.conn.base, error);
    });
  }

  /**
   * An exec channel, holding one of EXEC_CHANNELS slots until it closes (`urgent`: a kill,
   * which must not wait behind the commands it stops). An open the server refuses is retried
   * a few times: sshd frees a closed session's slot a moment after the client sees it close.
   */
  execChannel(command: string, options: { urgent?: boolean } = {}): Promise<ClientChannel> {
    const open = async (): Promise<ClientChannel> => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await this.openExecChannel(command);
        } catch (error) {
          const refused = error instanceof Error && /channel open failure/i.test(error.message);
          if (!refused || this.conn.lost || this.conn.closing || attempt >= OPEN_RETRY_MS.length) throw error;
          await new Promise((resolve) => setTimeout(resolve, OPEN_RETRY_MS[attempt]));
        }
      }
    };
    if (options.urgent) return open();
    return new Promise<ClientChannel>((resolve, reject) => {
      void this.slots(async () => {
        let channel: ClientChannel;
        try {
          channel = await open();
        } catch (error) {
          return reject(error);
        }
        resolve(channel);
        await new Promise<void>((closed) => channel.once('close', () => closed()));
      });
    });
  }

  /**
   * An exec channel whose exit status is recorded (in `exitStatus`) from the moment it opens:
   * a quick command's status can arrive in the same read as the open confirmation, and is
   * emitted before the caller's `await` resumes — a listener added there misses it.
   */
  private openExecChannel(command: string): Promise<ClientChannel> {
    return this.conn.call<ClientChannel>((cb) =>
      this.conn.client.exec(command, (error, channel) => {
        channel?.on('exit', (code: number | null, signalName?: string) => {
          exitStatus.set(channel, {
            code: typeof code === 'number' ? code : null,
            // ssh2 already names it SIGKILL, SIGTERM, …
            signal: signalName ? signalName : null,
          });
        });
        cb(error, channel);
      }),
    );
  }

  /** Internal commands: binary stdin, uncapped stdout, no timeout (they are short). */
  async runRaw(
    command: string,
    input: Buffer,
    options: { root?: boolean; urgent?: boolean } = {},
  ): Promise<{ code: number | null; signal: string | null; stdout: Buffer; stderr: string }> {
    const conn = this.conn;
    const full = options.root === false ? command : `cd ${shellQuote(conn.base)} || exit 1\n${command}`;
    const channel = await this.execChannel(full, { urgent: options.urgent });
    watchIdle(conn, channel, `a remote shell to start and answer (\`${command.split(/\s/)[0]} …\`)`);
    return new Promise((resolve, reject) => {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const onLost = (error: Error) => reject(error);
      conn.pending.add(onLost);
      channel.on('data', (chunk: Buffer) => out.push(chunk));
      channel.stderr.on('data', (chunk: Buffer) => err.push(chunk));
      channel.on('close', () => {
        conn.pending.delete(onLost);
        if (conn.lost) return reject(conn.lost);
        const status = exitStatus.get(channel);
        resolve({
          code: status?.code ?? null,
          signal: status?.signal ?? null,
          stdout: Buffer.concat(out),
          stderr: Buffer.concat(err).toString('utf8'),
        });
      });
      channel.end(input);
    });
  }
}

function cancelled(): DiffshipError {
  return new DiffshipError('E_CANCELLED', 'command cancelled before it finished');
}

/**
 * Reads the session's pid from the marker line at the start of stderr and takes
 * that line out. Login scripts may print before it: it is looked for in the
 * first few KiB, and stderr passes through unchanged once found or given up.
 */
class PidMarker {
  private head: Buffer | null = Buffer.alloc(0);
  pid: number | undefined;

  /** The stderr bytes to keep from `chunk`, or null while still looking. */
  filter(chunk: Buffer): Buffer | null {
    if (this.head === null) return chunk;
    const head = Buffer.concat([this.head, chunk]);
    const match = PID_LINE.exec(head.toString('latin1'));
    if (!match && head.length < 4096) {
      this.head = head;
      return null;
    }
    this.head = null;
    if (!match) return head;
    this.pid = Number(match[2]);
    return Buffer.concat([
      head.subarray(0, match.index + match[1]!.length),
      head.subarray(match.index + match[0].length),
    ]);
  }
}
