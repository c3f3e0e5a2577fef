/** The release a target holds, recorded in its state folder (SPEC §3 "From where"). */
import type { Transport } from '../transport/transport.js';
import type { KeptFile } from '../plan/types.js';
import { readJson, writeTextAtomic } from './json-file.js';
import type { Layout } from './layout.js';
import type { Manifest } from './manifest.js';
import { upgradeState } from './state-upgrade.js';

export interface TargetState {
  /** 2 since the manifest; version 1 files are upgraded on read (state-upgrade.ts). */
  version: 2;
  /** The SHA the target holds (a commit, or the tree id of a built release). */
  release: string;
  /** The SHA it held before (null: nothing). */
  previousRelease: string | null;
  deployId: string;
  deployedAt: string;
  mode: 'additive' | 'authoritative';
  /** Files the release deleted that additive mode left in place, with their blobs. */
  kept: KeptFile[];
  /** What diffship put there, file by file; null when unknown (a state written before version 2). */
  manifest: Manifest | null;
}

export async function readState(t: Transport, l: Layout): Promise<TargetState | null> {
  const raw = await readJson<unknown>(t, l.state);
  return raw === null ? null : upgradeState(raw, `${t.description}/${l.state}`);
}

export async function writeState(t: Transport, l: Layout, state: TargetState): Promise<void> {
  await writeTextAtomic(t, l.state, serializeState(state));
}

/**
 * Indented JSON, but one line per manifest entry: a 50,000-file manifest stays
 * a few MB (indenting every field would triple it) and still reads line by line.
 */
export function serializeState(state: TargetState): string {
  const files = state.manifest?.files;
  if (!files || files.length === 0) return `${JSON.stringify(state, null, 2)}\n`;
  const marker = '"\\u0000files\\u0000"'; // how JSON.stringify writes the placeholder below
  const shell = { ...state, manifest: { ...state.manifest, files: '\u0000files\u0000' } };
  const lines = files.map((f) => `      ${JSON.stringify(f)}`).join(',\n');
  return `${JSON.stringify(shell, null, 2).replace(marker, `[\n${lines}\n    ]`)}\n`;
}
