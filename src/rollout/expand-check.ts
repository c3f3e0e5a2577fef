/**
 * Placeholders in verify checks: shared by a target's verify step (target-steps.ts)
 * and the pre-rollout probe (probe.ts).
 */
import type { CheckSpec } from '../config/types.js';
import { expandPlaceholders, type PlaceholderContext } from '../config/placeholders.js';

/** Expand placeholders in every string of a check. */
export function expandCheck(check: CheckSpec, ph: PlaceholderContext): CheckSpec {
  const x = (s: string | undefined) => (s === undefined ? undefined : expandPlaceholders(s, ph));
  switch (check.kind) {
    case 'http':
      return {
        ...check,
        url: x(check.url)!,
        contains: x(check.contains),
        matches: x(check.matches),
        headers: Object.fromEntries(Object.entries(check.headers).map(([k, v]) => [k, x(v)!])),
      };
    case 'tcp':
      return { ...check, host: x(check.host) };
    case 'command':
      return { ...check, run: x(check.run), remote: x(check.remote) };
  }
}
