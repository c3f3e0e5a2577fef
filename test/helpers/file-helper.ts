/**
 * The SSH transport's perl file helper run locally under `sh`, as sshd would
 * run it, fed records on stdin: for the tests of its ops (remote ops, bulk
 * write), without an sshd in between.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { encodeRecord, remoteOpsCommand } from '../../src/transport/ssh/perl-helper-protocol.js';
import { AnswerParser, type Answer } from '../../src/transport/ssh/answer-parser.js';

/** The helper running in `cwd`: send records, await their answers by id. */
export class FileHelper {
  private readonly child: ChildProcess;
  private readonly parser: AnswerParser;
  private readonly waiting = new Map<number, (a: Answer & { parts: Array<string | Buffer> }) => void>();
  /** The parts of answers still to come (lines, or a read's raw frames), by record id. */
  private readonly parts = new Map<number, Array<string | Buffer>>();
  private nextId = 1;
  stderr = '';
  readonly exited: Promise<number | null>;

  /**
   * `prelude`: shell commands run first, as a chatty login script would. `sized`: given to the
   * answer parser (a read's frames into one buffer, as the SSH transport's reads take them).
   */
  constructor(cwd: string, prelude = '', sized?: (id: number, size: number) => Buffer | undefined) {
    this.parser = new AnswerParser(sized);
    this.child = spawn('sh', ['-c', `${prelude}${remoteOpsCommand()}`], {
      cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (chunk: Buffer) => {
      const { answers, error } = this.parser.push(chunk);
      if (error) throw error;
      for (const a of answers) {
        const parts = this.parts.get(a.id) ?? [];
        if (a.ok && a.part) this.parts.set(a.id, [...parts, a.bytes ?? a.payload]);
        else {
          this.parts.delete(a.id);
          this.waiting.get(a.id)?.({ ...a, parts });
        }
      }
    });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }

  /** The helper's process (sh execs perl). */
  get pid(): number {
    return this.child.pid!;
  }

  /**
   * `op` is a number: ops defined outside perl-helper-protocol.ts (bulk write) go through too.
   * The answer comes with the parts before it (a long answer's lines, a read's frames), in order.
   */
  send(op: number, a: string, options: { b?: string; mode?: number; data?: Buffer; chained?: boolean } = {}) {
    const id = this.nextId++;
    const answer = new Promise<Answer & { parts: Array<string | Buffer> }>((resolve) =>
      this.waiting.set(id, resolve),
    );
    const record = encodeRecord(id, op as Parameters<typeof encodeRecord>[1], a, {
      ...options,
      dataLength: options.data?.length ?? 0,
    });
    this.child.stdin!.write(record);
    if (options.data) this.child.stdin!.write(options.data);
    return answer;
  }

  end(): Promise<number | null> {
    this.child.stdin!.end();
    return this.exited;
  }
}
