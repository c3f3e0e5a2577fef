/** The manifest a target's state records, whatever the state's version (test helper). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseManifestText } from '../../src/apply/manifest-text.js';
import type { ManifestEntry } from '../../src/plan/manifest-types.js';
import { sortByPath } from '../../src/byte-order.js';

/** state.json of a target, parsed. */
export function stateJson(target: string, stateDir = '.diffship'): Record<string, unknown> {
  return JSON.parse(readFileSync(join(target, stateDir, 'state.json'), 'utf8')) as Record<string, unknown>;
}

/** The recorded manifest's entries: from its file (version 3) or inline (version 2); null when none. */
export function recordedFiles(target: string, stateDir = '.diffship'): ManifestEntry[] | null {
  const state = stateJson(target, stateDir);
  if (state.version === 3) {
    const ref = state.manifestFile as { file: string } | null;
    if (!ref) return null;
    const text = readFileSync(join(target, stateDir, 'manifests', ref.file), 'utf8');
    return parseManifestText(text, String(state.release).length, ref.file);
  }
  return ((state.manifest as { files: ManifestEntry[] } | null) ?? null)?.files ?? null;
}

/** A blob id made of the number `n` (manifest fixtures). */
export const idOf = (n: number): string => n.toString(16).padStart(40, '0');

export const SAMPLE_STAT = {
  size: 5,
  mtimeNs: '1700000000000000001',
  ctimeNs: '1700000000000000002',
  ino: '42',
  mode: 0o100644,
};

/**
 * A manifest's entries as the readers' tests use them: 3,000 files over 7 folders, each
 * with its own inode, a name written quoted and without a stat, an executable, and `extra`;
 * sorted as a manifest is.
 */
export function sampleEntries(extra: ManifestEntry[] = []): ManifestEntry[] {
  return sortByPath([
    ...Array.from({ length: 3000 }, (_, i) => ({
      path: `d${i % 7}/f${i}.xml`,
      blob: idOf(i),
      mode: '100644' as const,
      stat: { ...SAMPLE_STAT, ino: String(i) },
    })),
    { path: 'odd\nname', blob: idOf(9001), mode: '100644' as const },
    { path: 'z/run.sh', blob: idOf(9002), mode: '100755' as const, stat: SAMPLE_STAT },
    ...extra,
  ]);
}
