/** The release a target holds, recorded in its state folder (SPEC §3 "From where"). */
import type { PublishAfter, Transport } from '../transport/transport.js';
import type { KeptFile } from '../plan/types.js';
import { publishAfter, readJson, writeTextAtomic, writeTextAtomicWithPending } from './json-file.js';
import type { Layout } from './layout.js';
import { checked } from './state-schema.js';
import type { Manifest } from '../plan/manifest-types.js';
import { parseManifest } from './manifest.js';
import { readManifestFile, type ManifestRef } from './manifest-store.js';
import { manifestFromEntries } from './stored-manifest.js';
import { DiffshipError } from '../errors.js';
import { parseRecordedSelection, type RecordedSelection } from './recorded-selection.js';

export interface TargetState {
  /**
   * 3 since the manifest has its own file; 2 (manifest inline) and 1 (none) are
   * upgraded on read (upgradeState), and the next deploy writes version 3.
   */
  version: 3;
  /** The SHA the target holds (a commit, or the tree id of a built release). */
  release: string;
  /** The SHA it held before (null: nothing). */
  previousRelease: string | null;
  deployId: string;
  deployedAt: string;
  mode: 'additive' | 'authoritative';
  /** Files the release deleted that additive mode left in place, with their blobs. */
  kept: KeptFile[];
  /**
   * What diffship put there, file by file; null when unknown (a state written before
   * version 2). In memory only: state.json names its file (`manifestFile`).
   */
  manifest: Manifest | null;
  /** The manifest's file; null when it has none yet (no manifest, or one read inline from version 2). */
  manifestFile: ManifestRef | null;
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
  if (state.manifestFile)
    state.manifest = await readManifestFile(t, l, state.manifestFile, idLengthOf(state));
  return state;
}

/** Blob ids in the manifest have the recorded release's length. */
const idLengthOf = (state: { release: string }) => (state.release.length === 64 ? 64 : 40);

/** A state as state.json, a backup or a journal stores it (older versions as they were written). */
export type StoredState =
  | (Omit<TargetState, 'manifest'> & { manifest?: undefined })
  | (Omit<TargetState, 'version' | 'manifestFile'> & { version: 1 | 2 });

/**
 * What to write for a state held in memory: version 3 naming its manifest file;
 * a manifest not yet in a file (read inline from version 2) stays inline, as version 2.
 * Older states read back raw (a backup's, a journal's) are written as they are.
 */
export function storedState(state: TargetState | StoredState): StoredState {
  if (state.version !== 3) return state;
  const { manifest, manifestFile, ...rest } = state;
  if (manifestFile) return { ...rest, version: 3, manifestFile };
  if (manifest)
    return { ...rest, version: 2, manifest: { version: manifest.version, files: manifest.files } };
  return { ...rest, version: 3, manifestFile: null };
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

/**
 * `withPending`: the state's fsync joins one `syncWritten()` with the files written unsynced
 * before it (a deploy's manifest, which it names): both durable before its rename (json-file.ts).
 */
export async function writeState(
  t: Transport,
  l: Layout,
  state: TargetState | StoredState,
  options: { withPending?: boolean } = {},
): Promise<void> {
  if (options.withPending) await writeTextAtomicWithPending(t, l.state, serializeState(state));
  else await writeTextAtomic(t, l.state, serializeState(state));
}

/** writeState's write of `state` (not `withPending`), for a transport to queue behind another. */
export function statePublish(l: Layout, state: TargetState | StoredState): PublishAfter | null {
  return publishAfter(l.state, serializeState(state));
}

/**
 * Indented JSON. An inline (version 2) manifest gets one line per entry: a 50,000-file
 * manifest stays a few MB (indenting every field would triple it).
 */
export function serializeState(held: TargetState | StoredState): string {
  const state = storedState(held);
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
 * the next deploy records one. Version 2 holds its manifest inline, checked by
 * `parseManifest` (hostile input); the next deploy moves it to its own file.
 * The other fields are checked by state-schema.ts.
 */
/**
 * A state as read from the target, in the current shape; a version 3 state's
 * manifest is left for readState to read from its file. @throws DiffshipError E_STATE
 */
export function upgradeState(raw: unknown, where: string): TargetState {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new DiffshipError('E_STATE', `${where} is not a diffship state — inspect or remove it`);
  const state = raw as Record<string, unknown>;
  if (state.version === 1)
    return { ...(state as object), version: 3, manifest: null, manifestFile: null } as TargetState;
  if (state.version === 3) {
    const { manifest: _inline, ...rest } = state;
    return { ...rest, manifest: null, manifestFile: state.manifestFile ?? null } as TargetState;
  }
  if (state.version !== 2) {
    throw new DiffshipError(
      'E_STATE',
      `${where} has version ${JSON.stringify(state.version)}, newer than this diffship knows — upgrade diffship`,
    );
  }
  const release = typeof state.release === 'string' ? state.release : '';
  const idLength = idLengthOf({ release });
  const manifest =
    state.manifest === null || state.manifest === undefined
      ? null
      : manifestFromEntries(parseManifest(state.manifest, idLength, where).files, idLength, where);
  return { ...(state as object), version: 3, manifest, manifestFile: null } as TargetState;
}
