import { gitBlobId, type HashAlgorithm } from '../../diff/blob.js';
import { TransportError } from '../../errors.js';
import { mapLimit } from '../limit.js';
import { checkRelPath } from '../rel-path.js';
import {
  parsePerlOutput,
  parseShOutput,
  perlHashCommand,
  perlHashInput,
  perlSha,
  shHashScript,
  type HashTool,
} from './hash-commands.js';
import { hashList, OP_HASH, parseHashPayload } from './perl-helper-protocol.js';
import type { SshTuning } from './tuning.js';
import type { SshConnection } from './connection.js';
import type { SshExec } from './exec-channels.js';
import type { SshFiles } from './file-ops.js';
import { HelperGone, type SshOps } from './perl-helper-client.js';
import { hashOverSftp } from './sftp-hash.js';
import { joinRoot } from '../rel-path.js';
import type { HashOptions } from '../transport.js';

/** Files up to this size are hashed by reading them over SFTP when the host has no perl. */
const SMALL_FILE = 256 * 1024;
/** Paths hashed per request to the file helper. */
const HASH_BATCH = 1000;

/**
 * git blob ids of files on the host, computed there where it can (the file
 * helper, else the perl script, else sh + sha1sum/sha256sum for large files)
 * and by reading the files over SFTP where it cannot.
 */
export class SshHash {
  constructor(
    private readonly conn: SshConnection,
    private readonly exec: SshExec,
    private readonly ops: SshOps,
    private readonly files: SshFiles,
    private readonly tuning: Pick<SshTuning, 'hashMethod'>,
  ) {}

  async hashFiles(rels: readonly string[], options: HashOptions = {}): Promise<Map<string, string | null>> {
    const algorithm = options.algorithm ?? 'sha1';
    for (const rel of rels) checkRelPath(rel);
    const unique = [...new Set(rels)];
    const result = new Map<string, string | null>();
    if (unique.length === 0) return result;
    const method = this.tuning.hashMethod ?? 'auto';
    const caps = method === 'sftp' ? null : await this.exec.caps();
    if (caps?.exec && caps.perl && (method === 'auto' || method === 'perl')) {
      // The file helper when it runs, else a one-off perl script.
      const ids =
        (await this.hashWithHelper(unique, algorithm)) ?? (await this.hashWithPerl(unique, algorithm));
      if (ids) {
        unique.forEach((rel, i) => result.set(rel, ids[i] ?? null));
        return result;
      }
    }
    if (method === 'perl')
      throw new TransportError(
        'E_TRANSPORT',
        `${this.conn.description}: perl with Digest::SHA is not available on the host`,
      );
    // Without perl: look at each path over SFTP; small files are read and hashed here, large ones on the host
    // (when it has a tool for this algorithm: a host may have sha1sum but no sha256sum).
    const tool = caps?.exec === true && method !== 'sftp' ? (await this.exec.tools())[algorithm] : null;
    const large: Array<{ path: string; size: number }> = [];
    const files = this.files;
    await mapLimit(unique, files.concurrency, async (rel) => {
      const entry = await files.lstat(rel);
      if (entry === null || (entry.type !== 'file' && entry.type !== 'symlink')) return result.set(rel, null);
      if (entry.type === 'symlink')
        return result.set(rel, gitBlobId(Buffer.from(await files.readlink(rel), 'utf8'), algorithm));
      if (tool && (entry.size > SMALL_FILE || method === 'sh'))
        return large.push({ path: rel, size: entry.size });
      if (entry.size <= SMALL_FILE) {
        // Read whole up to the small size only: one grown since its lstat (or a host's lying
        // fstat) goes the big files' way; any other failure is met there again, and worded.
        const data = await files.readFile(rel, SMALL_FILE).catch(() => null);
        if (data !== null) return result.set(rel, gitBlobId(data, algorithm));
      }
      // Big: hashed as it is read, never whole in memory.
      try {
        result.set(rel, await hashOverSftp(this.conn, joinRoot(this.conn.base, rel), algorithm));
      } catch (error) {
        throw this.conn.fail('hash', rel, error);
      }
    });
    if (tool && large.length > 0) {
      const ids = await this.hashWithSh(tool, large, algorithm);
      large.forEach((f, i) => result.set(f.path, ids[i] ?? null));
    }
    return new Map(unique.map((rel) => [rel, result.get(rel) ?? null]));
  }

  /** Ids from the file helper, in batches; null when there is no helper or it ended (the caller falls back). */
  private async hashWithHelper(
    paths: string[],
    algorithm: HashAlgorithm,
  ): Promise<Array<string | null> | null> {
    const ops = await this.ops.channel();
    if (!ops) return null;
    // Batches keep each answer line short; all are sent at once, so the host never waits for the next.
    const batches: string[][] = [];
    for (let at = 0; at < paths.length; at += HASH_BATCH) batches.push(paths.slice(at, at + HASH_BATCH));
    let payloads: string[];
    try {
      const mode = perlSha(algorithm);
      payloads = await Promise.all(
        batches.map((batch) => this.ops.run(ops, OP_HASH, hashList(batch), { mode })),
      );
    } catch (error) {
      if (error instanceof HelperGone) return null;
      throw this.conn.fail('hash', paths[0] ?? '', error);
    }
    const ids: Array<string | null> = [];
    for (const [b, batch] of batches.entries()) {
      const records = parseHashPayload(payloads[b]!, batch.length, algorithm);
      if (!records) return null;
      records.forEach((r, i) => {
        if (r === '!')
          throw new TransportError(
            'E_TRANSPORT',
            `${this.conn.description}: cannot read ${JSON.stringify(batch[i])} to hash it (permission denied?)`,
          );
        ids.push(r);
      });
    }
    return ids;
  }

  /** Ids from the perl script; null when perl misbehaved (the caller falls back to the other ways). */
  private async hashWithPerl(
    paths: string[],
    algorithm: HashAlgorithm,
  ): Promise<Array<string | null> | null> {
    const run = await this.exec.runRaw(perlHashCommand(algorithm), perlHashInput(paths));
    const records = run.code === 0 ? parsePerlOutput(run.stdout, paths.length, algorithm) : null;
    if (!records) {
      this.conn.log.debug(
        `ssh: hashing with perl failed on ${this.conn.target.host} (exit ${run.code}): ${run.stderr.trim().slice(0, 300)}`,
      );
      return null;
    }
    return records.map((r, i) => {
      if (r === '!')
        throw new TransportError(
          'E_TRANSPORT',
          `${this.conn.description}: cannot read ${JSON.stringify(paths[i])} to hash it (permission denied?)`,
        );
      return r;
    });
  }

  private async hashWithSh(
    tool: HashTool,
    files: Array<{ path: string; size: number }>,
    algorithm: HashAlgorithm,
  ): Promise<string[]> {
    const run = await this.exec.runRaw(
      'exec sh -s',
      Buffer.from(shHashScript(tool, files, algorithm), 'utf8'),
    );
    const records =
      run.code === 0 ? parseShOutput(run.stdout.toString('utf8'), files.length, algorithm) : null;
    if (!records)
      throw new TransportError(
        'E_TRANSPORT',
        `${this.conn.description}: hashing files on the host failed (exit ${run.code}): ${run.stderr.trim().slice(0, 300)}`,
      );
    return records.map((r, i) => {
      if (r === '!')
        throw new TransportError(
          'E_TRANSPORT',
          `${this.conn.description}: cannot read ${JSON.stringify(files[i]!.path)} to hash it (changed meanwhile, or permission denied)`,
        );
      return r;
    });
  }
}
