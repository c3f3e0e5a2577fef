/** JSON files on a target, written whole by rename so a reader sees the old or the new file, never a mix. */
import { aType } from '../entry-type.js';
import { randomBytes } from 'node:crypto';
import type { PublishAfter, PublishSync, Transport } from '../transport/transport.js';
import { DiffshipError } from '../errors.js';
import { TooBig, tooBigError } from '../transport/read-bound.js';

/** A temporary name beside `rel`: the file is written there whole, then renamed over `rel`. */
function tmpFor(rel: string): string {
  return `${rel}.tmp-${randomBytes(4).toString('hex')}`;
}

/** Whether `name`, in the folder of `rel`, is one of tmpFor(rel)'s names: a write cut before its rename. */
export function isTempOf(rel: string, name: string): boolean {
  const base = `${rel.slice(rel.lastIndexOf('/') + 1)}.tmp-`;
  return name.startsWith(base) && /^[0-9a-f]{8}$/.test(name.slice(base.length));
}

/**
 * The most bytes published in one chained record sequence (Transport.publishFile): a state,
 * journal or backup listing of a few thousand files; a bigger one streams (writeChunksAtomic).
 */
export const CHAINED_MAX = 4 * 1024 * 1024;

/**
 * `data` published at `rel` by the transport's chained write, sync and rename (one round trip
 * over SSH) where it has one: true when done. false: the caller runs the steps itself.
 */
async function publishChained(
  t: Transport,
  rel: string,
  data: Buffer,
  sync: PublishSync,
  before: readonly PublishAfter[] = [],
): Promise<boolean> {
  if (!t.publishFile || data.length > CHAINED_MAX) return false;
  const tmp = tmpFor(rel);
  return t.publishFile(tmp, rel, data, 0o644, sync, before);
}

/**
 * `text` as writeTextAtomic publishes it (fsync'd), for a transport that queues it behind
 * another write (Transport.patchFile's `after`); null when it is too big to go in one record.
 */
export function publishAfter(rel: string, text: string): PublishAfter | null {
  const data = Buffer.from(text);
  return data.length > CHAINED_MAX ? null : { tmp: tmpFor(rel), rel, data, mode: 0o644 };
}

/** `sync: false` leaves durability to a later `syncWritten()` (the backup manifest goes with the staged files). */
export async function writeJsonAtomic(
  t: Transport,
  rel: string,
  value: unknown,
  options: { sync?: boolean } = {},
): Promise<void> {
  await writeTextAtomic(t, rel, `${JSON.stringify(value, null, 2)}\n`, options);
}

/** Write already-serialized text whole by rename (see writeJsonAtomic). */
export async function writeTextAtomic(
  t: Transport,
  rel: string,
  text: string,
  options: { sync?: boolean } = {},
): Promise<void> {
  const data = Buffer.from(text);
  if (await publishChained(t, rel, data, options.sync === false ? 'none' : 'file')) return;
  const tmp = tmpFor(rel);
  await t.writeFile(tmp, data, 0o644, options);
  await t.rename(tmp, rel);
}

/**
 * writeTextAtomic, its fsync joined to the transport's pending batch: the text goes under a
 * temporary name unsynced, one `syncWritten()` makes it durable together with every file written
 * unsynced before it (a journal: the staged files and the backup; a state: its manifest), and
 * only then does the rename publish it. The same order on disk as an fsync of each before the
 * rename, one wait for the file system's journal instead of two in a row (docs/cli.md
 * #durability-order). `before`: files published (unsynced, renamed) ahead of it, in the
 * transport's chain where it has one (writeChunksAtomic's `defer`).
 */
export async function writeTextAtomicWithPending(
  t: Transport,
  rel: string,
  text: string,
  before: readonly PublishAfter[] = [],
): Promise<void> {
  const data = Buffer.from(text);
  if (await publishChained(t, rel, data, 'batch', before)) return;
  // Files the transport would have published first, in its chain (a deploy's backup listing).
  for (const b of before) {
    await t.writeFile(b.tmp, b.data, b.mode, { sync: false });
    await t.rename(b.tmp, b.rel);
  }
  const tmp = tmpFor(rel);
  await t.writeFile(tmp, data, 0o644, { sync: false });
  try {
    await t.syncWritten();
  } catch (error) {
    await t.unlink(tmp).catch(() => undefined); // never published: litter only
    throw error;
  }
  await t.rename(tmp, rel);
}

/**
 * Write text given in chunks whole by rename (see writeJsonAtomic), streamed where the
 * transport can: a 500,000-entry backup listing is never one string or one buffer.
 * `chunks` makes the text anew each time it is called: once to count its bytes (a
 * streamed write announces its size), once as it is written. Only a chunk at a time is
 * held: all of them at once were ~37 MB outside the heap at 500,000 entries. The count
 * asks for them with `reuse` true: it is done with each chunk before the next is made.
 */
export async function writeChunksAtomic(
  t: Transport,
  rel: string,
  chunks: (reuse: boolean) => Iterable<Buffer>,
  options: { sync?: boolean; defer?: boolean } = {},
): Promise<PublishAfter | null> {
  let size = 0;
  for (const c of chunks(true)) size += c.length;
  const sync = options.sync === false ? 'none' : 'file';
  if (t.publishFile && size <= CHAINED_MAX) {
    const data = Buffer.concat([...chunks(false)], size);
    // `defer` (unsynced only): not written now but handed back, for a later publish's chain.
    if (options.defer && sync === 'none') return { tmp: tmpFor(rel), rel, data, mode: 0o644 };
    if (await publishChained(t, rel, data, sync)) return null;
  }
  const tmp = tmpFor(rel);
  if (t.writeStream) {
    // Past 1 MiB one buffer serves every chunk, as for the manifest (manifest-store.ts; writers
    // gather a smaller file whole): a 300,000-entry backup's 8 MB of fresh 256 KiB chunks were
    // freed late, and glibc kept them, 8 MiB of that deploy's peak RSS.
    const reused = size > 1 << 20;
    const source = {
      size,
      reused,
      async *[Symbol.asyncIterator]() {
        yield* chunks(reused);
      },
    };
    await t.writeStream(tmp, source, 0o644, options);
  } else await t.writeFile(tmp, Buffer.concat([...chunks(false)]), 0o644, options);
  await t.rename(tmp, rel);
  return null;
}

/**
 * The most bytes of a state folder's JSON file (state, journal, backup record) diffship reads.
 * The biggest it writes is a state listing every file an additive target keeps (a line or
 * four per file): far below this at a million files. Over it, the file is refused unread.
 */
const JSON_FILE_MAX = 256 * 1024 * 1024;

/**
 * Read a JSON file; null when it does not exist. A corrupt file, or one over `limit`
 * bytes (refused before it is read), is an E_STATE error naming it.
 */
export async function readJson<T>(t: Transport, rel: string, limit = JSON_FILE_MAX): Promise<T | null> {
  const entry = await t.lstat(rel);
  if (entry === null) return null;
  // SFTP opens follow a link at the last component: a planted link must not be read through.
  if (entry.type !== 'file')
    throw new DiffshipError(
      'E_UNSAFE',
      `${t.description}/${rel} is ${aType(entry.type)}, not a file — remove it; diffship writes its state files itself`,
    );
  if (entry.size > limit)
    throw tooBigError(`${t.description}/${rel}`, new TooBig(entry.size, limit), 'inspect or remove it');
  // Read outside the parse's try: a failed read says why (a file grown past the limit meanwhile).
  const data = await t.readFile(rel, limit);
  try {
    return JSON.parse(data.toString('utf8')) as T;
  } catch (cause) {
    throw new DiffshipError('E_STATE', `${t.description}/${rel} is not valid JSON — inspect or remove it`, {
      cause,
    });
  }
}
