/** The release a target holds, recorded in its state folder (SPEC §3 "From where"). */
import type { Transport } from '../transport/transport.js';
import type { KeptFile } from '../plan/types.js';
import { readJson, writeJsonAtomic } from './json-file.js';
import type { Layout } from './layout.js';
import { DiffshipError } from '../errors.js';
import { parseRecordedSelection, type RecordedSelection } from './recorded-selection.js';

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
  /** The selection this release was shipped with (absent in states written before it was recorded). */
  selection?: RecordedSelection;
}

export async function readState(t: Transport, l: Layout): Promise<TargetState | null> {
  const state = await readJson<TargetState>(t, l.state);
  if (state !== null) checkSelectionField(t, l, state);
  return state;
}

/** The recorded selection is read back from the target: a malformed one is an E_STATE error. */
function checkSelectionField(t: Transport, l: Layout, state: TargetState): void {
  try {
    const selection = parseRecordedSelection((state as { selection?: unknown }).selection);
    if (selection === undefined) delete state.selection;
    else state.selection = selection;
  } catch (error) {
    throw new DiffshipError(
      'E_STATE',
      `${t.description}/${l.state}: ${(error as Error).message} — inspect or remove the file`,
      { cause: error },
    );
  }
}

export async function writeState(t: Transport, l: Layout, state: TargetState): Promise<void> {
  await writeJsonAtomic(t, l.state, state);
}
