/**
 * A release listed with `git ls-tree -r -z`, its records rewritten as the
 * `diff-tree --raw -z` records of a diff from the empty tree, so that the one
 * record reader (change-records.ts) reads both. Why not diff-tree itself: it
 * holds every file pair of the release before it prints one (188 MB of git's
 * memory at 500,000 files, against 49 MB for ls-tree, and twice its time), and
 * `ls-tree --format` quotes odd names in git 2.39 even with `-z`.
 *
 * ls-tree's record: `<mode> SP <type> SP <id> TAB <path> NUL`; the raw record
 * made of it: `:000000 SP <mode> SP <zeros> SP <id> SP A NUL <path> NUL`.
 */
import { GitError } from '../errors.js';

/** Turns ls-tree's output, chunk by chunk, into raw records for `next` (records may span chunks). */
export function listingAsRaw(next: (chunk: Buffer) => void): { push(chunk: Buffer): void; end(): void } {
  let rest: Buffer = Buffer.alloc(0);
  return {
    push(chunk) {
      const data = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
      const last = data.lastIndexOf(0);
      if (last < 0) {
        rest = data;
        return;
      }
      next(rawRecords(data.subarray(0, last + 1)));
      rest = Buffer.from(data.subarray(last + 1));
    },
    end() {
      if (rest.length > 0) throw malformed(rest);
    },
  };
}

const PREFIX = Buffer.from(':000000 ', 'latin1');

/** Whole ls-tree records (each ends with NUL) as raw diff records. */
function rawRecords(data: Buffer): Buffer {
  // A record grows by ":000000 ", the zeros and " A\0", less "<type> " and the TAB: at most 77
  // bytes, and is at least 55 long ("<mode> blob <id>\t<p>\0"): 3× its size bounds the output
  // without a second pass to count the records.
  const out = Buffer.allocUnsafe(data.length * 3);
  let at = 0;
  let start = 0;
  while (start < data.length) {
    const end = data.indexOf(0, start);
    const space1 = data.indexOf(0x20, start);
    const space2 = space1 < 0 || space1 > end ? -1 : data.indexOf(0x20, space1 + 1);
    const tab = space2 < 0 || space2 > end ? -1 : data.indexOf(0x09, space2 + 1);
    const idLength = tab - space2 - 1;
    if (tab < 0 || tab > end || (idLength !== 40 && idLength !== 64))
      throw malformed(data.subarray(start, end));
    at += PREFIX.copy(out, at);
    at += data.copy(out, at, start, space1 + 1); // "<mode> "
    out.fill(0x30, at, at + idLength); // the empty side's id: zeros
    at += idLength;
    out[at++] = 0x20;
    at += data.copy(out, at, space2 + 1, tab); // "<id>"
    out[at++] = 0x20;
    out[at++] = 0x41; // A
    out[at++] = 0;
    at += data.copy(out, at, tab + 1, end + 1); // "<path>\0"
    start = end + 1;
  }
  return out.subarray(0, at);
}

function malformed(record: Buffer): GitError {
  return new GitError(
    'E_GIT',
    `git ls-tree gave a record diffship does not read: ${JSON.stringify(record.toString('latin1').slice(0, 120))}`,
  );
}
