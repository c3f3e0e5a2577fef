/**
 * A local file opened once, read by offset through its descriptor (never
 * through a link at the last component). The descriptor is closed by `close`,
 * or once the object is unreachable: a manifest held by a state may be read
 * again later in the run, and nobody owns its end.
 */
import * as fsSync from 'node:fs';
import type { OpenedFile } from '../transport.js';
import { requireRegular, READ_REGULAR } from './open-regular.js';

/**
 * Changed this shortly before it was opened, a file's times might not move on a write now
 * (coarse clocks): twice the clock's step, at least 10 ms (a kernel's coarse clock ticks every
 * 1–10 ms), and the file system's own step where its times are round (whole seconds on some).
 * Not a fixed 200 ms: a deploy started right after the last one opens its manifest within that,
 * and a racy file is read whole (70 MB at 500,000 files).
 */
function racyNs(mtimeNs: bigint): bigint {
  let step = 1n;
  while (step < 1_000_000_000n && mtimeNs % (step * 10n) === 0n) step *= 10n;
  return 2n * (step > 10_000_000n ? step : 10_000_000n);
}

const closer = new FinalizationRegistry<number>((fd) => {
  try {
    fsSync.closeSync(fd);
  } catch {
    // Closed already.
  }
});

type Stamp = Pick<fsSync.BigIntStats, 'size' | 'mtimeNs' | 'ctimeNs' | 'ino' | 'dev' | 'nlink'>;

/**
 * Whether `now` is the file `then` was: a write moves size or mtime (and ctime). ctime alone
 * also moves when a link is added, as a deploy's backup does (manifest-store.ts keepInBackup):
 * allowed then; a link removed (unlinked, or a file renamed over its path) is refused.
 */
const same = (now: Stamp, then: Stamp): boolean =>
  now.size === then.size &&
  now.mtimeNs === then.mtimeNs &&
  now.ino === then.ino &&
  now.dev === then.dev &&
  (now.ctimeNs === then.ctimeNs ? now.nlink === then.nlink : now.nlink > then.nlink);

/** Open `p` to read; ELOOP when it is a symlink, refused unless a regular file. */
export function openNoFollow(p: string): OpenedFile {
  const fd = fsSync.openSync(p, READ_REGULAR);
  let stamp: Stamp;
  try {
    const stats = fsSync.fstatSync(fd, { bigint: true });
    requireRegular(stats);
    stamp = stats;
  } catch (error) {
    fsSync.closeSync(fd);
    throw error;
  }
  return openedDescriptor(fd, stamp, BigInt(Date.now()) * 1_000_000n - stamp.ctimeNs < racyNs(stamp.mtimeNs));
}

/**
 * An open descriptor of a regular file as an OpenedFile, its stamp taken by the caller's fstat
 * (`racy` as openNoFollow judges it; `spooled`: a local copy, spool-file.ts). Closed by `close`,
 * or once the object is unreachable: the caller must hand on this very object, not a copy.
 */
export function openedDescriptor(fd: number, stamp: Stamp, racy: boolean, spooled = false): OpenedFile {
  let open = true;
  const file: OpenedFile = {
    size: Number(stamp.size),
    racy,
    spooled,
    read(position, length, into) {
      const out = into && into.length >= length ? into.subarray(0, length) : Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const n = fsSync.readSync(fd, out, got, length - got, position + got);
        if (n === 0) break;
        got += n;
      }
      return got === length ? out : out.subarray(0, got);
    },
    unchanged: () => same(fsSync.fstatSync(fd, { bigint: true }), stamp),
    close() {
      if (!open) return;
      open = false;
      closer.unregister(file);
      fsSync.closeSync(fd);
    },
  };
  closer.register(file, fd, file);
  return file;
}
