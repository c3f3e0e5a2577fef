/**
 * A whole manifest (a first deploy's, or one no patch makes) and the state naming it in one
 * chain where the transport publishes so (Transport.publishFile, over SSH one round trip, not
 * two): the manifest written in staging, renamed into `manifests/`, then the state written,
 * the file system synced (both durable) and the state renamed. A cut chain leaves the
 * manifest under staging (cleaned with it) or unnamed by any state (pruned).
 */
import type { PublishAfter, Transport } from '../transport/transport.js';
import { CHAINED_MAX } from './json-file.js';
import type { Layout } from './layout.js';
import type { ManifestBytes } from './manifest-stream.js';

/**
 * The manifest `name` (`bytes`), then the state `after` gives (it names the manifest by its
 * hash, known once the bytes were made), in one chain. false: nothing was published (no such
 * transport, too big for one chain, no state to chain).
 */
export async function publishedWithState(
  t: Transport,
  l: Layout,
  name: string,
  bytes: ManifestBytes,
  after: () => PublishAfter | null,
): Promise<boolean> {
  if (!t.publishFile || bytes.size > CHAINED_MAX) return false;
  const data = Buffer.concat([...bytes.chunks(false)], bytes.size);
  const state = after();
  if (state === null) return false;
  const manifest = { tmp: `${l.staging}/${name}`, rel: `${l.manifests}/${name}`, data, mode: 0o644 };
  return t.publishFile(state.tmp, state.rel, state.data, state.mode, 'batch', [manifest]);
}
