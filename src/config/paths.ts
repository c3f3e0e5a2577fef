/**
 * Target folders: where they resolve, and the roots diffship refuses to deploy
 * into (an authoritative deploy there would delete a system or a home).
 */
import os from 'node:os';
import path from 'node:path';
import { expandHome, type ResolveContext } from './fields.js';
import type { KeyPath } from './problems.js';
import type { TargetConfig } from './types.js';
import { shown } from './zod-issues.js';
import { dangerousRoot } from '../transport/dangerous-root.js';

/** True when `child` is `parent` or inside it. */
function isInside(child: string, parent: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/** A local target's folder: `~` expanded, resolved against the config's folder, dangerous roots refused. */
export function localTargetPath(ctx: ResolveContext, raw: string, at: KeyPath): string {
  if (raw.trim() === '') {
    ctx.problems.add(at, 'refused: an empty path (give the target folder)');
    return '';
  }
  if (raw.includes('\0')) {
    ctx.problems.add(at, 'expected a folder path (got a NUL byte)');
    return raw;
  }
  const abs = path.resolve(ctx.baseDir, expandHome(ctx, raw));
  const homes = [os.homedir(), ctx.env.HOME].filter((h): h is string => !!h).map((h) => path.resolve(h));
  const why = dangerousRoot(abs, [...new Set(homes)], path.sep === '/');
  if (why) ctx.problems.add(at, why);
  return abs;
}

/** An ssh target's folder: absolute on the host (SFTP does not expand `~`), normalized, dangerous roots refused. */
export function sshTargetPath(ctx: ResolveContext, raw: string, at: KeyPath): string {
  const trimmed = raw.trim();
  if (trimmed === '') {
    ctx.problems.add(at, 'refused: an empty path (give the target folder)');
    return '';
  }
  if (trimmed === '~' || trimmed === '~/') {
    ctx.problems.add(
      at,
      `refused: ${JSON.stringify(trimmed)} is the home folder (use an absolute folder inside it)`,
    );
    return raw;
  }
  if (!raw.startsWith('/')) {
    ctx.problems.add(at, `expected an absolute path on the host (got ${shown(raw)}; ~ is not expanded)`);
    return raw;
  }
  const normalized = path.posix.normalize(raw).replace(/(.)\/+$/, '$1');
  const why = dangerousRoot(normalized, []);
  if (why) ctx.problems.add(at, why);
  return normalized;
}

/**
 * Local targets whose folder holds the config folder (the repo, usually):
 * harmless in additive mode, but an authoritative deploy would delete it.
 */
export function configFolderHazards(
  targets: readonly TargetConfig[],
  baseDir: string,
): Array<{ index: number; message: string }> {
  const out: Array<{ index: number; message: string }> = [];
  targets.forEach((target, index) => {
    if (target.type === 'local' && target.path && isInside(baseDir, target.path)) {
      out.push({ index, message: `${target.path} holds the config folder ${baseDir}` });
    }
  });
  return out;
}
