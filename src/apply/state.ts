/** The release a target holds, recorded in its state folder (SPEC §3 "From where"). */
import type { Transport } from '../transport/transport.js';
import type { KeptFile } from '../plan/types.js';
import { readJson, writeJsonAtomic } from './json-file.js';
import type { Layout } from './layout.js';

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

export async function readState(t: Transport, l: Layout): Promise<TargetState | null> {
  return readJson<TargetState>(t, l.state);
}

export async function writeState(t: Transport, l: Layout, state: TargetState): Promise<void> {
  await writeJsonAtomic(t, l.state, state);
}
