/** The manifest a target's state records, whatever the state's version (test helper). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseManifestText } from '../../src/apply/manifest-text.js';
import type { ManifestEntry } from '../../src/plan/manifest-types.js';

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
