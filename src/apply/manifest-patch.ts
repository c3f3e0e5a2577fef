/**
 * The next manifest made where the previous one lives (Transport.patchFile, over SSH the
 * file helper's patch op): only the changed lines and the ranges of the previous file to
 * copy cross the wire, not the ~2.5 MB of a 20,000-file manifest.
 */
import type { PublishAfter, Transport } from '../transport/transport.js';
import type { Layout } from './layout.js';
import { isBaseRange, type PendingManifest } from './manifest-merge.js';
import type { ManifestBytes } from './manifest-stream.js';

/** The manifest a deploy records, and the file it was merged from (its bytes are `base`). */
export interface NextManifest extends PendingManifest {
  /** Its place (relative to the target) and what the state records of it (size, SHA-256). */
  previous?: { rel: string; ref: { size: number; sha256: string } };
}

/** New lines a patch may carry (~6 MB of text): beyond, the whole file streams as it is made. */
const PATCH_LINES = 50_000;

/**
 * The next manifest made where the previous one lives (Transport.patchFile): staged in the
 * staging folder, fsync'd, checked against the size and SHA-256 made here, renamed into `manifests/`.
 * false when the transport cannot, or the file there is not the one the state names.
 * `after`, asked once the bytes are hashed: a file to publish right behind it (the state that
 * names it), in the same round trip; true then means both are done, false neither.
 */
export async function patched(
  t: Transport,
  l: Layout,
  pending: NextManifest,
  name: string,
  bytes: ManifestBytes,
  after?: () => PublishAfter | null,
): Promise<boolean> {
  if (!t.patchFile || !pending.previous) return false;
  // The patch is sent as one record, its new lines held whole: a big change set streams instead.
  let lines = 0;
  for (const part of pending.parts) if (!isBaseRange(part) && ++lines > PATCH_LINES) return false;
  const { ref } = pending.previous;
  // Staging, where the host makes the file, was made by the caller (recordManifestFile).
  // The host checks what it made against this hash: one pass over the bytes here first (the
  // untouched ranges are hashed, not formatted; the new lines are at most PATCH_LINES). Each
  // chunk is done with once hashed: the ranges are read into one buffer used again, not a
  // buffer each (a target's whole manifest of them, left to the collector: 13.6 MB at 100,000).
  for (const chunk of bytes.chunks(true)) void chunk;
  const check = {
    base: { size: ref.size, sha256: ref.sha256 },
    result: { size: bytes.size, sha256: bytes.sha256() },
  };
  const staged = `${l.staging}/${name}`;
  const next = after?.() ?? undefined;
  return t.patchFile(
    pending.previous.rel,
    staged,
    `${l.manifests}/${name}`,
    check,
    bytes.patch(),
    0o644,
    next,
  );
}
