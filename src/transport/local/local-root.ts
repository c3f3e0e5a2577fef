// The local target's root, resolved and vetted once at connect: every later path is
// joined to the folder this returns, so a link at the root is followed here and only here.
import * as fsSync from 'node:fs';
import { type Stats } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TransportError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { refuseDangerousRoot } from '../dangerous-root.js';

/**
 * The real path of the target folder `base` (created first with `create`), or
 * E_CONNECT when it is missing, not a folder or unreadable. `description`
 * names the target as configured, for the dangerous-root refusal.
 */
export function openLocalRoot(
  base: string,
  description: string,
  options: { create?: boolean },
  log: Logger,
): string {
  // Synchronous: a few microseconds each, where a threadpool round trip costs more.
  let stats: Stats | null;
  try {
    stats = fsSync.statSync(base, { throwIfNoEntry: false }) ?? null;
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    throw new TransportError('E_CONNECT', `local target ${base} cannot be read: ${e.code ?? e.message}`, {
      cause: error,
    });
  }
  if (stats === null && options.create) {
    log.debug(`creating target folder ${base}`);
    try {
      fsSync.mkdirSync(base, { recursive: true });
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      throw new TransportError('E_CONNECT', `cannot create target folder ${base}: ${e.code ?? e.message}`, {
        cause: error,
      });
    }
    stats = fsSync.statSync(base);
  }
  if (stats === null)
    throw new TransportError('E_CONNECT', `target folder ${base} does not exist; create it first`, {
      rootMissing: true,
    });
  if (!stats.isDirectory()) throw new TransportError('E_CONNECT', `target path ${base} is not a folder`);
  const real = fsSync.realpathSync(base);
  // The configured text was checked at load time; a link may still lead to `/` or a home folder.
  refuseDangerousRoot(real, localHomes(), `local target ${description}`);
  return real;
}

/** This user's home folder, as written and as it resolves. */
function localHomes(): string[] {
  const homes = [os.homedir(), process.env.HOME].filter((h): h is string => !!h).map((h) => path.resolve(h));
  const real = homes.map((h) => {
    try {
      return fsSync.realpathSync(h);
    } catch {
      return h;
    }
  });
  return [...new Set([...homes, ...real])];
}
