/**
 * The walk of a whole local target that an authoritative plan reads, started
 * ahead of the read: by the plan as it starts (plan-target.ts), or by the
 * rollout before the release is even resolved (rollout/early-walk.ts), where
 * only state.json's fields are known. Which kind is a guess from those fields:
 * in find's own order where the manifest will be indexed (manifest-release.ts),
 * else sorted. A guess that turns out wrong costs the walk's CPU only: the plan
 * asks for the kind it needs, and asking stops a walk of the other kind
 * (transport/local/local-walks.ts).
 */
import type { DriftScope } from '../config/types.js';
import type { TargetState } from '../apply/state.js';
import type { Transport } from '../transport/transport.js';
import { MANIFEST_INDEX_MAX } from '../apply/manifest-index.js';

/** What the choice of walk needs of a target's state. */
export interface WalkHint {
  /** The state names a manifest (a file, or inline in an old state). */
  manifest: boolean;
  /** The state records the selection it shipped. */
  selection: boolean;
  /** The manifest file's size (0 for an inline one). */
  manifestBytes: number;
}

/** A checked state's hint. */
export function stateHint(state: TargetState | null): WalkHint {
  return {
    manifest: Boolean(state?.manifest),
    selection: state?.selection !== undefined,
    manifestBytes: state?.manifestFile?.size ?? 0,
  };
}

/**
 * The hint of state.json's text as parsed, not checked (a guess: nothing else is taken from
 * it); null when it is not an object.
 */
export function rawStateHint(raw: unknown): WalkHint | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  const { manifestFile, manifest, selection } = raw as Record<string, unknown>;
  const size = (manifestFile as { size?: unknown } | null | undefined)?.size;
  const bytes = typeof size === 'number' && Number.isSafeInteger(size) && size > 0 ? size : 0;
  return {
    manifest: bytes > 0 || (typeof manifest === 'object' && manifest !== null),
    selection: selection !== undefined && selection !== null,
    manifestBytes: bytes,
  };
}

/**
 * Whether an authoritative plan on a target with this state will merge an indexed
 * manifest with a walk in find's order: a manifest basis is likely (a manifest and
 * a recorded selection, drift scope `changes`) and small enough to index.
 */
export function walksUnordered(hint: WalkHint, o: { driftScope?: DriftScope }): boolean {
  if (!hint.manifest || !hint.selection || o.driftScope === 'all') return false;
  // DIFFSHIP_LOCAL_WALK=sorted: the sorted walk at any size (to compare, or to keep the manifest
  // from being read whole).
  if (process.env.DIFFSHIP_LOCAL_WALK === 'sorted') return false;
  return expectedEntries(hint) < MANIFEST_INDEX_MAX;
}

/** About how many entries the target holds, from its manifest's size (a line: an id, a mode, a stat, a path). */
const expectedEntries = (hint: WalkHint): number => Math.floor(hint.manifestBytes / 128);

/** Start the whole walk an authoritative plan of a target with this state will read, where `t` can. */
export function startWholeWalk(
  t: Transport,
  skip: readonly string[],
  hint: WalkHint,
  o: { driftScope?: DriftScope },
): void {
  if (walksUnordered(hint, o) && t.prewalkUnordered) t.prewalkUnordered(skip);
  else t.prewalkSorted?.(skip, expectedEntries(hint));
}
