/**
 * `unlock` for the library, the CLI and the action: clear the deploy lock of
 * the selected targets by hand, when its holder is gone. Returns, per target,
 * the lock it removed (null: it was not locked). Adapters call this; they do
 * not reach into transports and lock files themselves.
 */
import type { ResolvedConfig } from '../config/types.js';
import { DiffshipError } from '../errors.js';
import { describeLock, forceUnlock, unreadableReason, type LockFile } from '../apply/lock.js';
import { layout } from '../apply/layout.js';
import { createTransport } from '../transport/factory.js';
import { parseSelectors, selectTargets } from './select.js';

export interface UnlockOptions {
  config: ResolvedConfig;
  /** Names or `label:X` selectors. Required: clearing every lock at once is never a default. */
  targets: string | readonly string[];
}

export interface UnlockResult {
  name: string;
  /** The lock file that was removed (`info` null: it held no valid lock); null when the target was not locked. */
  removed: LockFile | null;
}

/**
 * Remove the lock file of each selected target, one target after the other.
 *
 * @example
 * for (const r of await unlock({ config, targets: 'soup-a' })) console.log(describeUnlock(r));
 */
export async function unlock(options: UnlockOptions): Promise<UnlockResult[]> {
  const selectors = parseSelectors(options.targets);
  if (selectors.length === 0)
    throw new DiffshipError('E_USAGE', 'unlock needs the targets to unlock: --targets <name>[,<name>…]');
  const results: UnlockResult[] = [];
  for (const target of selectTargets(options.config.targets, selectors)) {
    const t = createTransport(target);
    await t.connect({ create: false });
    try {
      results.push({ name: target.name, removed: await forceUnlock(t, layout(options.config.stateDir)) });
    } finally {
      await t.close();
    }
  }
  return results;
}

/** `unlocked soup-a: was held by …` or `soup-a was not locked`. */
export function describeUnlock(result: UnlockResult): string {
  const { removed } = result;
  if (removed === null) return `${result.name} was not locked`;
  if (removed.info === null)
    return `unlocked ${result.name}: removed a lock file that held no valid lock (${unreadableReason(removed.raw)})`;
  return `unlocked ${result.name}: was held by ${describeLock(removed.info)}`;
}
