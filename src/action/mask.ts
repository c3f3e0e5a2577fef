/**
 * Secrets out of everything the action writes. The runner masks registered
 * secrets in the log, but the job summary, the PR comment, the report artifact
 * and a run outside a runner (local-action) get no such help: every string of
 * a report is masked before anything is derived from it.
 */
import { maskSecrets } from '../log.js';

/**
 * A copy of `value` with every secret (and each of its lines) in every string
 * replaced by `***`; keys are kept. Plain data only (what JSON can hold).
 *
 * @example maskDeep({ error: 'bad key abc123' }, ['abc123']) // { error: 'bad key ***' }
 */
export function maskDeep<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return value;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return maskSecrets(v, secrets);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}
