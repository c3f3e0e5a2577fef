/**
 * Older state files, upgraded on read. Version 1 (before the manifest) has
 * everything version 2 has but the manifest: it reads as `manifest: null`, and
 * the next deploy records one. The manifest itself is checked by
 * `parseManifest` (hostile input); the other fields are checked elsewhere.
 */
import { DiffshipError } from '../errors.js';
import { parseManifest } from './manifest.js';
import type { TargetState } from './state.js';

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
