/** `--targets a,b,label:eu`: pick targets by name or label, keeping the config's order. */
import { DiffshipError } from '../errors.js';
import type { TargetConfig } from '../config/types.js';
import { suggest } from '../config/suggest.js';

/** Split a `--targets` value (comma and/or whitespace separated) into selectors. */
export function parseSelectors(value: string | readonly string[] | undefined): string[] {
  const parts = typeof value === 'string' ? [value] : (value ?? []);
  return parts.flatMap((p) => p.split(/[\s,]+/)).filter(Boolean);
}

/**
 * The targets matching any selector, in config order. No selectors: all targets.
 * An unknown name or a label no target has is a usage error (exit 2), since a typo
 * must not turn into "deployed nothing".
 */
export function selectTargets(
  targets: readonly TargetConfig[],
  selectors: readonly string[],
): TargetConfig[] {
  if (selectors.length === 0) return [...targets];
  const chosen = new Set<TargetConfig>();
  for (const sel of selectors) {
    if (sel.startsWith('label:')) {
      const label = sel.slice('label:'.length);
      const hits = targets.filter((t) => t.labels.includes(label));
      if (hits.length === 0) {
        const labels = [...new Set(targets.flatMap((t) => t.labels))];
        throw new DiffshipError(
          'E_USAGE',
          `--targets ${sel}: no target has label "${label}" (labels: ${labels.join(', ') || 'none'})`,
        );
      }
      hits.forEach((t) => chosen.add(t));
    } else {
      const hit = targets.find((t) => t.name === sel);
      if (!hit) {
        const hint = suggest(
          sel,
          targets.map((t) => t.name),
        );
        throw new DiffshipError(
          'E_USAGE',
          `--targets ${sel}: no such target${hint ? ` — did you mean "${hint}"?` : ''} (targets: ${targets.map((t) => t.name).join(', ')}; use label:X for labels)`,
        );
      }
      chosen.add(hit);
    }
  }
  return targets.filter((t) => chosen.has(t));
}
