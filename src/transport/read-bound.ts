/**
 * The most bytes a whole-file read of a target may hold (Transport.readFile's
 * `limit`). A target is hostile input: its state files, journal and manifest are
 * read whole, and a file made huge (a sparse 2 GB state.json costs its host no
 * disk) would otherwise be read into this process's memory before its content
 * could be refused. Each reader names its own limit; this is the shared check
 * and its words. Pure.
 */
import { DiffshipError } from '../errors.js';

/** Bytes of a read with no limit of its own: the most a Buffer read whole should ever be. */
export const NO_LIMIT = 2 ** 32 - 1;

/** A file over its reader's limit, as found or as it grew while it was read. */
export class TooBig extends Error {
  constructor(
    readonly size: number | null,
    readonly limit: number,
  ) {
    super(
      size === null
        ? `it holds more than the ${bytes(limit)} diffship reads of it (it grew while read)`
        : `it is ${bytes(size)}, more than the ${bytes(limit)} diffship reads of it`,
    );
    this.name = 'TooBig';
  }
}

/** Throws TooBig when `size` is over `limit`. */
export function checkSize(size: number, limit: number): void {
  if (size > limit) throw new TooBig(size, limit);
}

/**
 * A target's file refused for its size before it was read: E_STATE naming the
 * file, its size and the limit, and the fix.
 */
export function tooBigError(where: string, error: TooBig, fix: string): DiffshipError {
  return new DiffshipError('E_STATE', `${where}: ${error.message} — ${fix}`, { cause: error });
}

/** Exact bytes for small sizes, else binary units (a limit is a power of two). */
function bytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}
