/**
 * Where the balancer runs: this machine, or another host over SSH (the SSH
 * transport's exec, one connection for the rollout). Commands, and the one
 * file diffship manages there (NGINX's upstream include), written atomically.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { SshOptions } from '../config/types.js';
import { DiffshipError } from '../errors.js';
import type { Logger } from '../log.js';
import { runLocal } from '../transport/local/run-local.js';
import { shellQuote } from '../transport/shell-quote.js';
import { SshTransport } from '../transport/ssh/ssh-transport.js';

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface BalancerHost {
  /** Where, for messages: `this machine` or `ssh lb1`. */
  readonly where: string;
  exec(command: string, timeoutMs: number, signal?: AbortSignal): Promise<CommandResult>;
  readText(file: string, signal?: AbortSignal): Promise<string>;
  /** Write to a temporary file beside `file`, then rename it over: readers see old or new, never half. */
  writeTextAtomic(file: string, text: string, signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** A command's result as one line for an error: its exit and the end of its output. */
export function commandFailure(command: string, r: CommandResult): string {
  const output = `${r.stderr}\n${r.stdout}`.trim().split('\n').slice(-3).join(' | ');
  return `\`${command}\` exited ${r.code ?? 'by a signal'}${output ? `: ${output}` : ''}`;
}

const tmpName = (file: string) => `${file}.diffship-${randomBytes(4).toString('hex')}.tmp`;

class LocalHost implements BalancerHost {
  readonly where = 'this machine';
  constructor(private readonly cwd: string) {}

  async exec(command: string, timeoutMs: number, signal?: AbortSignal): Promise<CommandResult> {
    const r = await runLocal(command, { cwd: this.cwd, timeoutMs, signal });
    if (r.aborted) throw new DiffshipError('E_CANCELLED', `cancelled: ${command}`);
    if (r.timedOut) return { ...r, code: null, stderr: `timed out after ${timeoutMs} ms\n${r.stderr}` };
    return { code: r.error ? null : r.code, stdout: r.stdout, stderr: r.error ?? r.stderr };
  }

  readText(file: string): Promise<string> {
    return readFile(file, 'utf8');
  }

  async writeTextAtomic(file: string, text: string): Promise<void> {
    const tmp = tmpName(file);
    try {
      await writeFile(tmp, text);
      await rename(tmp, file);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
  }

  async close(): Promise<void> {}
}

class SshHost implements BalancerHost {
  readonly where: string;
  private readonly transport: SshTransport;
  private connecting: Promise<void> | null = null;

  constructor(ssh: SshOptions, log: Logger) {
    this.where = `ssh ${ssh.user}@${ssh.host}:${ssh.port}`;
    this.transport = new SshTransport(ssh, '/', log);
  }

  async exec(command: string, timeoutMs: number, signal?: AbortSignal): Promise<CommandResult> {
    // Only commands run there (nginx -t, socat): no file is written under `/`.
    this.connecting ??= this.transport.connect({ commandsOnly: true });
    await this.connecting;
    const r = await this.transport.exec(command, { timeoutMs, signal });
    if (r.timedOut) return { ...r, code: null, stderr: `timed out after ${timeoutMs} ms\n${r.stderr}` };
    return r;
  }

  async readText(file: string, signal?: AbortSignal): Promise<string> {
    const r = await this.exec(`cat -- ${shellQuote(file)}`, 30_000, signal);
    if (r.code !== 0)
      throw new DiffshipError('E_TRANSPORT', `${this.where}: ${commandFailure(`cat ${file}`, r)}`);
    return r.stdout;
  }

  async writeTextAtomic(file: string, text: string, signal?: AbortSignal): Promise<void> {
    const tmp = shellQuote(tmpName(file));
    const command = `printf '%s' ${shellQuote(text)} > ${tmp} && mv -f -- ${tmp} ${shellQuote(file)} || { rm -f -- ${tmp}; exit 1; }`;
    const r = await this.exec(command, 30_000, signal);
    if (r.code !== 0) {
      throw new DiffshipError('E_TRANSPORT', `${this.where}: cannot write ${file}: ${r.stderr.trim()}`);
    }
  }

  async close(): Promise<void> {
    if (this.connecting) await this.transport.close();
  }
}

/** The balancer host: over SSH when `remote` is given, else this machine (commands run in `cwd`). */
export function balancerHost(remote: SshOptions | undefined, cwd: string, log: Logger): BalancerHost {
  return remote ? new SshHost(remote, log) : new LocalHost(path.resolve(cwd));
}
