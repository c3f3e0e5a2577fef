/** The release a target holds, recorded in its state folder (SPEC §3 "From where"). */
import type { Transport } from '../transport/transport.js';
import type { KeptFile } from '../plan/types.js';
import { readJson, writeTextAtomic } from './json-file.js';
import type { Layout } from './layout.js';
import { checked } from './state-schema.js';
import type { Manifest } from '../plan/manifest-types.js';
import { parseManifest } from './manifest.js';
import { DiffshipError } from '../errors.js';
import { parseRecordedSelection, type RecordedSelection } from './recorded-selection.js';

export interface TargetState {
  /** 2 since the manifest; version 1 files are upgraded on read (upgradeState). */
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
  /** The selection this release was shipped with (absent in states written before it was recorded). */
  selection?: RecordedSelection;
  /**
   * `units`: units a per-unit rollback put back to their previous files while the rest of
   * `release` stayed (docs/units.md#when-a-unit-fails). The manifest lists their old files;
   * the next deploy compares the whole release with it, so they are shipped again.
   */
  heldBack?: HeldUnit[];
}

/** A unit held back at its previous version (`release`: the release its files come from; null: none). */
export interface HeldUnit {
  name: string;
  path: string;
  release: string | null;
}

/**
 * The recorded state, upgraded to the current version and checked field by field
 * (E_STATE otherwise); `idLength`: the repository's id length.
 */
export async function readState(t: Transport, l: Layout, idLength?: number): Promise<TargetState | null> {
  const raw = await readJson<unknown>(t, l.state);
  if (raw === null) return null;
  const where = `${t.description}/${l.state}`;
  // Every field first (ids of the repository's length, types), then the manifest, whose blob ids
  // must have the release's length.
  checked('state', raw, where, { idLength, stateDir: l.dir, manifestParsedLater: true });
  const state = upgradeState(raw, where);
  checkSelectionField(where, state);
  return state;
}

/** The recorded selection is read back from the target: a malformed one is an E_STATE error. */
function checkSelectionField(where: string, state: TargetState): void {
  try {
    const selection = parseRecordedSelection((state as { selection?: unknown }).selection);
    if (selection === undefined) delete state.selection;
    else state.selection = selection;
  } catch (error) {
    throw new DiffshipError('E_STATE', `${where}: ${(error as Error).message} — inspect or remove the file`, {
      cause: error,
    });
  }
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

/*
 * Older state files, upgraded on read. Version 1 (before the manifest) has
 * everything version 2 has but the manifest: it reads as `manifest: null`, and
 * the next deploy records one. The manifest itself is checked by
 * `parseManifest` (hostile input); the other fields by state-schema.ts.
 */
/** A state as read from the target, in the current shape. @throws DiffshipError E_STATE */
export function upgradeState(raw: unknown, where: string): TargetState {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new DiffshipError('E_STATE', `${where} is not a diffship state — inspect or remove it`);
  const state = raw as Record<string, unknown>;
  if (state.version === 1) return { ...(state as object), version: 2, manifest: null } as TargetState;
  if (state.version !== 2) {
    throw new DiffshipError(
      'E_STATE',
      `${where} has version ${JSON.stringify(state.version)}, newer than this diffship knows — upgrade diffship`,
    );
  }
  const release = typeof state.release === 'string' ? state.release : '';
  const manifest =
    state.manifest === null || state.manifest === undefined
      ? null
      : parseManifest(state.manifest, release.length === 64 ? 64 : 40, where);
  return { ...(state as object), manifest } as TargetState;
}

/** A state as held in memory (a journal's or backup's copy may predate version 2). */
export function manifestOfState(
  state: { manifest?: TargetState['manifest'] } | null,
): TargetState['manifest'] {
  return state?.manifest ?? null;
}
