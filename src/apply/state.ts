/** The release a target holds, recorded in its state folder (SPEC §3 "From where"). */
import type { Transport } from '../transport/transport.js';
import type { KeptFile } from '../plan/types.js';
import { readJson, writeJsonAtomic } from './json-file.js';
import type { Layout } from './layout.js';
import { checked } from './state-schema.js';

export interface TargetState {
  version: 1;
  /** The SHA the target holds. */
  release: string;
  /** The SHA it held before (null: nothing). */
  previousRelease: string | null;
  deployId: string;
  deployedAt: string;
  mode: 'additive' | 'authoritative';
  /** Files the release deleted that additive mode left in place, with their blobs. */
  kept: KeptFile[];
}

/** The recorded state, checked field by field (E_STATE otherwise); `idLength`: the repository's id length. */
export async function readState(t: Transport, l: Layout, idLength?: number): Promise<TargetState | null> {
  const raw = await readJson<unknown>(t, l.state);
  if (raw === null) return null;
  return checked<TargetState>('state', raw, `${t.description}/${l.state}`, { idLength, stateDir: l.dir });
}

export async function writeState(t: Transport, l: Layout, state: TargetState): Promise<void> {
  await writeJsonAtomic(t, l.state, state);
}
