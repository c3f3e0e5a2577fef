// The names in a folder: a small one (the state folder's, a few entries) read synchronously,
// a big one through the threadpool. A fleet lists a dozen small folders per target; each
// listing in the threadpool is a round trip (a wake-up of a worker, then of the event loop)
// that costs more than reading the names here, while a folder of 50,000 names read here would
// hold every other target's work for milliseconds.
import * as fsSync from 'node:fs';
import * as fs from 'node:fs/promises';

/**
 * Up to this st_size a folder counts as small: one or two blocks on ext4 (a few hundred
 * names at most), a few hundred names on tmpfs, btrfs or xfs.
 */
const SMALL_DIR_BYTES = 8192;

/** Whether `p` is read here: missing or not a folder too (readdirSync throws the same error fs.readdir would). */
function small(p: string): boolean {
  const st = fsSync.statSync(p, { throwIfNoEntry: false });
  return st === undefined || !st.isDirectory() || st.size <= SMALL_DIR_BYTES;
}

/** readdir(3) of `p`, following a link as fs.readdir does. */
export async function readNames(p: string): Promise<string[]> {
  return small(p) ? fsSync.readdirSync(p) : fs.readdir(p);
}

/** readNames with the names as raw bytes. */
export async function readRawNames(p: string): Promise<Buffer[]> {
  return small(p) ? fsSync.readdirSync(p, { encoding: 'buffer' }) : fs.readdir(p, { encoding: 'buffer' });
}
