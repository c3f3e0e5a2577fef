/**
 * Where a manifest's fresh stats wait between its two passes (manifest-stream.ts):
 * the first takes them in and counts the file's size, the second (and a third,
 * after a refused patch) makes the lines. Few of them: typed arrays in memory
 * (~37 bytes a file). Many: each stat's text goes to a temporary file of this
 * process, unlinked as soon as it is opened, read back in order: at 500,000 files
 * that is ~25 MB in the page cache instead of 18 MB more of this process's peak,
 * and nothing is left on disk whatever ends the run (the name goes before a byte
 * is written; the folder it was made in is a scratch folder, swept if killed).
 * Where that file cannot be made or written (no room in the temp folder), the
 * stats go to the typed arrays instead, those already spilled with them.
 */
import { closeSync, openSync, readSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { FileStat } from '../plan/manifest-types.js';
import { NO_STAT, statFields, statText } from './manifest-text.js';
import { makeScratchDir } from '../scratch-dir.js';

/** Files from which the stats are spilled to a file: below, the arrays take at most ~600 KB. */
export const SPILL_AT = 16_384;
/** Bytes written or read at a time. */
const CHUNK = 256 * 1024;

/** The stats of `count` entries, taken in order once, then read in order by each pass. */
export interface StatColumn {
  /** The next entry's stat (undefined: none taken). */
  push(s: FileStat | undefined): void;
  /** A reader from the first entry: each call gives the next entry's stat text, `-` for none. */
  reader(): () => string;
  /** Give back what it holds (the spill file's descriptor). Idempotent. */
  close(): void;
}

/** A column for `count` stats: spilled to a file from `spillAt` on. */
export function statColumn(count: number, spillAt = SPILL_AT): StatColumn {
  if (count < spillAt) return new StatTable(count);
  return SpilledStats.open(count) ?? new StatTable(count);
}

/** The stats' texts in an unlinked file, a newline after each. */
class SpilledStats implements StatColumn {
  private readonly pending = Buffer.allocUnsafe(CHUNK);
  private used = 0;
  /** Bytes in the file. */
  private size = 0;
  private pushed = 0;
  /** Set when a write failed: the stats went to the arrays, this goes on through it. */
  private table: StatTable | null = null;

  private constructor(
    private fd: number | null,
    private readonly count: number,
  ) {}

  /** The file made and unlinked; null where the temp folder refuses. */
  static open(count: number): SpilledStats | null {
    let dir: string | undefined;
    try {
      dir = makeScratchDir('diffship-');
      const p = join(dir, 'stats');
      const fd = openSync(p, 'wx+', 0o600);
      unlinkSync(p);
      return new SpilledStats(fd, count);
    } catch {
      return null;
    } finally {
      if (dir !== undefined) {
        try {
          rmdirSync(dir);
        } catch {
          // left for the next run's sweep of dead processes' folders (this one's is alive)
        }
      }
    }
  }

  push(s: FileStat | undefined): void {
    if (this.table) return void this.table.push(s);
    const text = s === undefined ? NO_STAT : statText(s);
    // Stat texts are ASCII digits, signs and commas, ~110 bytes at most (lstat's numbers; a host's
    // are bounded by stat-digits.ts): a byte a character, and never a newline, which ends each one.
    if (this.used + text.length + 1 > CHUNK) this.flush();
    if (this.table) return void (this.table as StatTable).push(s);
    this.used += this.pending.write(text, this.used, 'latin1');
    this.pending[this.used++] = 0x0a;
    this.pushed++;
  }

  /** Write the pending bytes; on failure, move everything to the arrays. */
  private flush(): void {
    if (this.used === 0 || this.fd === null) return;
    try {
      for (let done = 0; done < this.used;)
        done += writeSync(this.fd, this.pending, done, this.used - done, this.size + done);
      this.size += this.used;
      this.used = 0;
    } catch {
      this.toTable();
    }
  }

  /** The stats spilled so far (and those pending) into a table; the file closed. */
  private toTable(): void {
    const table = new StatTable(this.count);
    const next = this.lines(true);
    for (let i = 0; i < this.pushed; i++) table.push(parseStat(next()));
    this.table = table;
    this.close();
  }

  reader(): () => string {
    if (this.table) return this.table.reader();
    this.flush();
    if (this.table) return (this.table as StatTable).reader();
    return this.lines(false);
  }

  /**
   * The texts in order: the file's, then (`withPending`) the bytes not written yet. One buffer
   * for the whole pass, refilled in place (a new one per read was ~50 MB of garbage at 500,000).
   */
  private lines(withPending: boolean): () => string {
    const fd = this.fd!;
    const total = this.size + (withPending ? this.used : 0);
    const buf = Buffer.allocUnsafe(CHUNK);
    let at = 0;
    let end = 0;
    /** Bytes of the whole (file, then pending) taken into `buf` so far. */
    let taken = 0;
    return () => {
      for (;;) {
        const nl = buf.indexOf(0x0a, at);
        if (nl >= 0 && nl < end) {
          const text = buf.toString('latin1', at, nl);
          at = nl + 1;
          return text;
        }
        if (taken >= total) throw new Error('read past the last stat');
        // A text is at most a few dozen bytes: what is left of a chunk always fits before the next.
        buf.copy(buf, 0, at, end);
        end -= at;
        at = 0;
        const want = Math.min(CHUNK - end, total - taken);
        if (taken < this.size) {
          const n = readSync(fd, buf, end, Math.min(want, this.size - taken), taken);
          if (n <= 0) throw new Error('the stats file ended early');
          end += n;
          taken += n;
        } else {
          const from = taken - this.size;
          end += this.pending.copy(buf, end, from, from + want);
          taken += want;
        }
      }
    };
  }

  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    closeSync(fd);
  }
}

/** A stat's text back as the stat (the spill's fallback); `-`: none. */
function parseStat(text: string): FileStat | undefined {
  if (text === NO_STAT) return undefined;
  const [size, mtimeNs, ctimeNs, ino, mode] = text.split(',');
  return { size: Number(size), mtimeNs: mtimeNs!, ctimeNs: ctimeNs!, ino: ino!, mode: Number(mode) };
}

/**
 * Stats by index, in typed arrays: numbers as they are (the mode in 32 bits, as
 * st_mode is), the decimal strings (ns times, inode) as 64-bit integers. A value
 * that would not come back the same (none that lstat gives) is kept as it is, aside.
 */
class StatTable implements StatColumn {
  private readonly has: Uint8Array;
  private readonly size: Float64Array;
  private readonly mode: Uint32Array;
  private readonly mtime: BigUint64Array;
  private readonly ctime: BigUint64Array;
  private readonly ino: BigUint64Array;
  private readonly odd = new Map<number, FileStat>();
  private pushed = 0;

  constructor(n: number) {
    this.has = new Uint8Array(n);
    this.size = new Float64Array(n);
    this.mode = new Uint32Array(n);
    this.mtime = new BigUint64Array(n);
    this.ctime = new BigUint64Array(n);
    this.ino = new BigUint64Array(n);
  }

  push(s: FileStat | undefined): void {
    const i = this.pushed++;
    if (s === undefined) return;
    const [m, c, n] = [exact(s.mtimeNs), exact(s.ctimeNs), exact(s.ino)];
    const mode32 = Number.isInteger(s.mode) && s.mode >= 0 && s.mode <= 0xffffffff;
    if (m === null || c === null || n === null || !mode32) return void this.odd.set(i, s);
    this.has[i] = 1;
    this.size[i] = s.size;
    this.mode[i] = s.mode;
    this.mtime[i] = m;
    this.ctime[i] = c;
    this.ino[i] = n;
  }

  reader(): () => string {
    let i = 0;
    return () => {
      const at = i++;
      if (this.has[at] !== 1) {
        const s = this.odd.get(at);
        return s === undefined ? NO_STAT : statText(s);
      }
      return statFields(this.size[at]!, this.mtime[at]!, this.ctime[at]!, this.ino[at]!, this.mode[at]!);
    };
  }

  close(): void {}
}

const U64_MAX = (1n << 64n) - 1n;

/** `s` as an unsigned 64-bit integer when that prints back as `s`; else null. */
function exact(s: string): bigint | null {
  if (!/^(0|[1-9][0-9]*)$/.test(s)) return null;
  const n = BigInt(s);
  return n <= U64_MAX ? n : null;
}
