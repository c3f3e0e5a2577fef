/**
 * A Transport whose writes first ask the lock's fence (lease-fence.ts) whether
 * this deploy still owns the target. Reads and commands pass straight through:
 * only a write can spoil another deploy's work. The fence check is a clock
 * read, so the wrapper costs no round trip.
 */
import type { Transport } from '../transport/transport.js';

const WRITES: ReadonlySet<PropertyKey> = new Set<keyof Transport>([
  'writeFile',
  'writeStream',
  'writeMany',
  'publishFile',
  'copyFile',
  'patchFile',
  'createExclusive',
  'createExclusiveAndPeek',
  'symlink',
  'chmod',
  'rename',
  'renameAllThenStat',
  'link',
  'mkdirp',
  'makeDir',
  'makeDirs',
  'unlink',
  'rmdir',
  'removeTree',
  'unlinkThenRemoveTree',
  'keepMany',
  'removeMany',
]);

/**
 * `t`, with `check()` run (and its throw turned into a rejection) before every write.
 * `onCommand`: told before a command runs (it may change anything: a hook's `remote` command).
 */
export function fenced(t: Transport, check: () => void, onCommand?: () => void): Transport {
  return new Proxy(t, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      // Bound to the real transport: its private fields are not the proxy's.
      const bound = (value as (...args: unknown[]) => unknown).bind(target);
      if (prop === 'exec' && onCommand)
        return (...args: unknown[]) => {
          onCommand();
          return bound(...args);
        };
      if (!WRITES.has(prop)) return bound;
      return async (...args: unknown[]) => {
        check();
        return bound(...args);
      };
    },
  });
}
