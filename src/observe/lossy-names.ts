/**
 * A target name that is not valid UTF-8 (bytes `stray-\xff`) comes back from
 * every walk as text with U+FFFD, and that text names nothing on the target:
 * deleting a stray under it would silently do nothing while the report says it
 * was deleted. Authoritative mode therefore stops before changing anything.
 * Cheap in the common case: only names holding U+FFFD are looked at again,
 * with their folder's exact bytes where the transport has them.
 */
import { TransportError } from '../errors.js';
import type { Transport } from '../transport/transport.js';
import { byteOrder } from '../byte-order.js';

const REPLACEMENT = '\uFFFD';

/** Collects the walked paths that may be lossy (those holding U+FFFD), duplicates kept. */
export class LossySuspects {
  readonly paths: string[] = [];

  see(path: string): void {
    if (path.includes(REPLACEMENT)) this.paths.push(path);
  }
}

/** Throws E_UNSAFE for the first suspect whose name does not round-trip. */
export async function refuseLossyNames(t: Transport, suspects: LossySuspects): Promise<void> {
  if (suspects.paths.length === 0) return;
  const counts = new Map<string, number>();
  for (const p of suspects.paths) counts.set(p, (counts.get(p) ?? 0) + 1);
  // Parents first (byte order puts a folder before its entries): a lossy folder is named, not its children.
  for (const [path, count] of [...counts].sort(([a], [b]) => byteOrder(a, b))) {
    const cut = path.lastIndexOf('/');
    const folder = cut < 0 ? '' : path.slice(0, cut);
    const name = path.slice(cut + 1);
    const raw = t.rawNames ? await t.rawNames(folder) : null;
    if (raw) {
      const exact = Buffer.from(name, 'utf8');
      const bad = raw.find((b) => !b.equals(exact) && b.toString('utf8') === name);
      if (bad) throw lossy(t, folder, `bytes "${escapeBytes(bad)}"`);
    } else if (count > 1 || (await t.lstat(path)) === null) {
      // No exact bytes here (SFTP only): the name as read names nothing, or names two entries.
      throw lossy(t, folder, `read as ${JSON.stringify(name)}; its bytes are not valid UTF-8`);
    }
  }
}

function lossy(t: Transport, folder: string, what: string): TransportError {
  return new TransportError(
    'E_UNSAFE',
    `${t.description}: the folder ${JSON.stringify(folder || '.')} holds a name that is not valid UTF-8 (${what}) ` +
      `— rename or remove it on the target; diffship cannot name it exactly, so authoritative mode cannot delete it`,
  );
}

/** Printable ASCII as is, every other byte as \xNN (what `printf` and most shells accept). */
function escapeBytes(bytes: Buffer): string {
  let out = '';
  for (const b of bytes)
    out +=
      b >= 0x20 && b < 0x7f && b !== 0x5c && b !== 0x22
        ? String.fromCharCode(b)
        : `\\x${b.toString(16).padStart(2, '0')}`;
  return out;
}
