/**
 * Typed errors. Every error diffship raises on purpose is a DiffshipError with a
 * stable `code` (for programs) and a one-line `message` (for people): the message
 * names the bad value and the fix. The CLI prints `message` only, never a stack.
 */

/** Stable error codes. The exit code follows from the code (see `exitCodeFor`). */
export type ErrorCode =
  | 'E_USAGE' // bad flags or arguments
  | 'E_CONFIG' // diffship.yml is missing or invalid
  | 'E_REF' // a git ref does not resolve, or looks like an option
  | 'E_GIT' // git itself failed
  | 'E_LOCK' // the target is locked by another deploy
  | 'E_CONNECT' // a target cannot be reached (ssh connect, auth, host key)
  | 'E_UNSAFE' // a path would escape the target folder or follow a symlink
  | 'E_DRIFT' // files on the target changed by hand and on-drift is fail
  | 'E_MAX_DELETES' // the deploy would delete more than max-deletes
  | 'E_TRANSPORT' // reading or writing the target failed
  | 'E_VERIFY' // a staged file does not match its git blob id
  | 'E_HOOK' // a hook failed or timed out
  | 'E_CHECK' // a health check failed
  | 'E_CANCELLED' // SIGINT/SIGTERM
  | 'E_TIMEOUT' // the rollout ran past its timeout
  | 'E_STATE' // the state folder is unreadable or inconsistent
  | 'E_UNITS'; // units: a dependency cycle, or a unit requiring one the release lacks

export class DiffshipError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DiffshipError';
    this.code = code;
  }
}

/** Bad config, flags or refs: always raised before anything touches a target. */
export class ConfigError extends DiffshipError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_CONFIG', message, options);
    this.name = 'ConfigError';
  }
}

/** Git failed or a ref is unusable. */
export class GitError extends DiffshipError {
  constructor(code: 'E_GIT' | 'E_REF', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'GitError';
  }
}

/** A target could not be read or written, or refused a connection. */
export class TransportError extends DiffshipError {
  /** Set by a transport's connect() when the target folder itself does not exist (and was not created). */
  readonly rootMissing: boolean;

  constructor(
    code: 'E_TRANSPORT' | 'E_CONNECT' | 'E_UNSAFE' | 'E_VERIFY',
    message: string,
    options?: { cause?: unknown; rootMissing?: boolean },
  ) {
    super(code, message, options);
    this.name = 'TransportError';
    this.rootMissing = options?.rootMissing ?? false;
  }
}

/** Codes that mean "nothing was written": the CLI exits 2 for them. */
const BEFORE_WRITE: ReadonlySet<ErrorCode> = new Set(['E_USAGE', 'E_CONFIG', 'E_REF', 'E_LOCK', 'E_CONNECT']);

/** SPEC §6: 2 for usage/config/ref/lock/connection problems, 1 for anything else. */
export function exitCodeFor(error: unknown): 1 | 2 {
  return error instanceof DiffshipError && BEFORE_WRITE.has(error.code) ? 2 : 1;
}

/** The one line a person sees for any thrown value. */
export function describeError(error: unknown): string {
  if (error instanceof DiffshipError) return error.message;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
