/**
 * What the state folder holds is data written by diffship, but read back from a
 * target that others may write: every field of `state.json`, the journal and a
 * backup manifest is checked here before anything uses it. Object ids are full
 * lowercase hex of the repository's length (never a revision expression git
 * would evaluate), deploy ids are plain names (never a path), paths are safe
 * relative paths outside the state folder, modes are plain permission bits.
 * Anything else is E_STATE naming the file and the fix.
 *
 * The manifest inside a state is checked by its own parser (apply/manifest.ts);
 * unknown fields are ignored (never used).
 */
import { DiffshipError } from '../errors.js';
import { checkRelPath } from '../transport/rel-path.js';
import { parseManifest } from './manifest.js';

/** A deploy id as a backup or staging folder name: letters, digits, `.`, `_`, `-`; no path. */
export const DEPLOY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** What a check knows: the repository's object id length (40 or 64) when the caller knows it. */
export interface SchemaContext {
  idLength?: number;
  /** The state folder (relative to the target root): no recorded path may point into it. */
  stateDir?: string;
  /** The caller parses the state's own manifest right after (readState): don't parse it twice. */
  manifestParsedLater?: boolean;
}

/** Thrown by the checks below; `readChecked` turns it into E_STATE naming the file. */
class Invalid extends Error {}

function fail(why: string): never {
  throw new Invalid(why);
}

function record(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${what} is not an object`);
  return v as Record<string, unknown>;
}

/** A full object id: lowercase hex, 40 or 64 digits (the repository's length when known). */
export function isObjectId(v: unknown, idLength?: number): v is string {
  if (typeof v !== 'string' || !/^[0-9a-f]+$/.test(v)) return false;
  return idLength === undefined ? v.length === 40 || v.length === 64 : v.length === idLength;
}

function objectId(v: unknown, what: string, ctx: SchemaContext): string {
  if (!isObjectId(v, ctx.idLength)) {
    const want = ctx.idLength === undefined ? '40 or 64' : String(ctx.idLength);
    fail(`${what} is not a full object id (${want} lowercase hex digits)`);
  }
  return v;
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') fail(`${what} is not a string`);
  return v;
}

function deployId(v: unknown, what: string): string {
  if (typeof v !== 'string' || !DEPLOY_ID.test(v)) fail(`${what} is not a deploy id`);
  return v;
}

function relPath(v: unknown, what: string, ctx: SchemaContext): string {
  if (typeof v !== 'string') fail(`${what} is not a path`);
  try {
    checkRelPath(v);
  } catch {
    fail(`${what} is not a safe relative path`);
  }
  const dir = ctx.stateDir;
  if (dir !== undefined && (v === dir || v.startsWith(`${dir}/`)))
    fail(`${what} points into the state folder`);
  return v;
}

function array(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) fail(`${what} is not a list`);
  return v;
}

/** The state of a target (state.json, a journal's newState, a manifest's previousState). */
function targetState(v: unknown, what: string, ctx: SchemaContext): void {
  const s = record(v, what);
  // 1: before the manifest; 2: manifest inline (still found in journals and backups written by older versions).
  if (s.version !== 1 && s.version !== 2 && s.version !== 3) fail(`${what}.version is not 1, 2 or 3`);
  objectId(s.release, `${what}.release`, ctx);
  if (s.previousRelease !== null) objectId(s.previousRelease, `${what}.previousRelease`, ctx);
  deployId(s.deployId, `${what}.deployId`);
  str(s.deployedAt, `${what}.deployedAt`);
  if (s.mode !== 'additive' && s.mode !== 'authoritative')
    fail(`${what}.mode is not additive or authoritative`);
  array(s.kept, `${what}.kept`).forEach((k, i) => {
    const kept = record(k, `${what}.kept[${i}]`);
    relPath(kept.path, `${what}.kept[${i}].path`, ctx);
    objectId(kept.blob, `${what}.kept[${i}].blob`, ctx);
  });
  if (s.heldBack !== undefined)
    array(s.heldBack, `${what}.heldBack`).forEach((h, i) => {
      const held = record(h, `${what}.heldBack[${i}]`);
      const name = str(held.name, `${what}.heldBack[${i}].name`);
      if (name === '' || name.includes('/') || name.includes('\0'))
        fail(`${what}.heldBack[${i}].name is not a unit name`);
      relPath(held.path, `${what}.heldBack[${i}].path`, ctx);
      if (held.release !== null) objectId(held.release, `${what}.heldBack[${i}].release`, ctx);
    });
  if (s.version === 3) manifestRef(s.manifestFile, `${what}.manifestFile`);
  else if (s.manifest !== undefined && s.manifest !== null && !ctx.manifestParsedLater) {
    try {
      parseManifest(s.manifest, (s.release as string).length, what);
    } catch {
      fail(`${what}.manifest is not a valid manifest`);
    }
  }
}

/** A version 3 state's manifest file: a name diffship makes (never a path), its size and SHA-256. */
function manifestRef(v: unknown, what: string): void {
  if (v === null) return;
  const r = record(v, what);
  if (typeof r.file !== 'string' || !r.file.endsWith('.tsv') || !DEPLOY_ID.test(r.file.slice(0, -4)))
    fail(`${what}.file is not a manifest file name (<deploy id>.tsv)`);
  if (typeof r.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(r.sha256))
    fail(`${what}.sha256 is not a SHA-256 (64 lowercase hex digits)`);
  if (typeof r.size !== 'number' || !Number.isSafeInteger(r.size) || r.size < 0)
    fail(`${what}.size is not a byte count`);
  if (r.size > MANIFEST_FILE_MAX) fail(`${what}.size is over 2 GiB, more than diffship reads of a manifest`);
}

/**
 * The biggest manifest file diffship reads (~16 million files at ~130 bytes a line). A remote
 * one is read whole, so a state naming more is refused before the manifest is opened.
 */
export const MANIFEST_FILE_MAX = 2 * 1024 * 1024 * 1024;

function journal(v: unknown, ctx: SchemaContext): void {
  const j = record(v, 'the journal');
  if (j.version !== 1) fail('version is not 1');
  if (j.kind !== 'deploy' && j.kind !== 'rollback' && j.kind !== 'unit-rollback')
    fail('kind is not deploy, rollback or unit-rollback');
  // unit-rollback: only the backup's entries under these unit paths are restored.
  if (j.kind === 'unit-rollback') array(j.paths, 'paths').forEach((p, i) => relPath(p, `paths[${i}]`, ctx));
  if (j.phase !== 'commit') fail('phase is not commit');
  deployId(j.deployId, 'deployId');
  deployId(j.backupId, 'backupId');
  if (j.newState !== null) targetState(j.newState, 'newState', ctx);
}

function manifest(v: unknown, ctx: SchemaContext): void {
  const m = record(v, 'the manifest');
  if (m.version !== 1) fail('version is not 1');
  deployId(m.deployId, 'deployId');
  str(m.createdAt, 'createdAt');
  if (m.previousState !== null) targetState(m.previousState, 'previousState', ctx);
  array(m.entries, 'entries').forEach((raw, i) => {
    const e = record(raw, `entries[${i}]`);
    relPath(e.path, `entries[${i}].path`, ctx);
    if (e.action === 'remove') return;
    if (e.action !== 'restore') fail(`entries[${i}].action is not remove or restore`);
    if (e.type === 'symlink') {
      if (str(e.linkTarget, `entries[${i}].linkTarget`).includes('\0') || e.linkTarget === '')
        fail(`entries[${i}].linkTarget is not a link text`);
      return;
    }
    if (e.type !== 'file') fail(`entries[${i}].type is not file or symlink`);
    // Permission bits only; restoring drops setuid, setgid, sticky and group/world write anyway.
    if (!Number.isInteger(e.mode) || (e.mode as number) < 0 || (e.mode as number) > 0o7777)
      fail(`entries[${i}].mode is not a file mode`);
    if (typeof e.file !== 'string' || !/^files\/[0-9]{1,9}$/.test(e.file))
      fail(`entries[${i}].file is not files/<number>`);
  });
  array(m.createdDirs, 'createdDirs').forEach((d, i) => relPath(d, `createdDirs[${i}]`, ctx));
  if (m.removedDirs !== undefined)
    array(m.removedDirs, 'removedDirs').forEach((d, i) => relPath(d, `removedDirs[${i}]`, ctx));
}

const checks = {
  state: (v: unknown, ctx: SchemaContext) => targetState(v, 'state', ctx),
  journal,
  manifest,
} as const;

export type StateFileKind = keyof typeof checks;

const FIX =
  'run `diffship status` to see what the target holds, or remove the state folder to redeploy from scratch';

/**
 * Check `value` read from `file` as a `kind`; returns it typed, or throws E_STATE
 * naming the file, the field and the fix. The value itself is never echoed.
 */
export function checked<T>(kind: StateFileKind, value: unknown, file: string, ctx: SchemaContext = {}): T {
  try {
    checks[kind](value, ctx);
  } catch (error) {
    if (!(error instanceof Invalid)) throw error;
    throw new DiffshipError('E_STATE', `${file}: ${error.message} — ${FIX}`);
  }
  return value as T;
}
