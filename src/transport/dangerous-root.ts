/**
 * Roots diffship refuses to deploy into: the filesystem root, a home folder, a
 * folder holding home folders (an authoritative deploy there would delete a
 * system or a home). Checked twice: on the configured text at load time
 * (config/paths.ts), and on the folder as it resolves on the host at connect
 * (a link such as `/srv/site -> /root` passes the first check, not the second).
 */
import path from 'node:path';
import { TransportError } from '../errors.js';

/**
 * Why an absolute, normalized folder is too dangerous to deploy into, or
 * undefined: the filesystem root, a home folder (`homes`, `/root`,
 * `/home/<user>`, `/Users/<user>`), or a folder holding home folders.
 */
export function dangerousRoot(abs: string, homes: readonly string[], posix = true): string | undefined {
  const p = posix ? path.posix : path;
  if (p.parse(abs).root === abs) return `refused: ${JSON.stringify(abs)} is the filesystem root`;
  if (homes.includes(abs) || /^\/(root|home\/[^/]+|Users\/[^/]+)$/.test(abs)) {
    return `refused: ${JSON.stringify(abs)} is a home folder (use a folder inside it)`;
  }
  if (
    /^\/(home|Users)$/.test(abs) ||
    homes.some((home) => home.startsWith(abs.endsWith(p.sep) ? abs : abs + p.sep))
  ) {
    return `refused: ${JSON.stringify(abs)} holds home folders (use a folder inside one)`;
  }
  return undefined;
}

/**
 * At connect: refuse `real` (the target folder as the host resolves it) when it
 * is dangerous, `homes` being the login user's real home folder(s) on that host.
 */
export function refuseDangerousRoot(real: string, homes: readonly string[], description: string): void {
  const why = dangerousRoot(
    real,
    homes.filter((h) => h.startsWith('/') && h !== ''),
  );
  if (why === undefined) return;
  throw new TransportError(
    'E_UNSAFE',
    `${description}: the target folder resolves to ${JSON.stringify(real)} on the host — ${why}; point path at a folder of its own`,
  );
}
