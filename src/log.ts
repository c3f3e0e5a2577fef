/**
 * The logger every layer writes to. Secret values are masked in every line
 * before it reaches a sink, so no caller has to remember to do it.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Replace every occurrence of each secret (and of each of its lines, for keys) with ***. */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret) continue;
    const pieces = [secret, ...secret.split(/\r?\n/).filter((line) => line.trim().length >= 8)];
    for (const piece of pieces) if (piece.length >= 3) out = out.split(piece).join('***');
  }
  return out;
}

/** A logger that masks `secrets` (a live array: secrets added later are masked too). */
export function maskingLogger(sink: Logger, secrets: string[]): Logger {
  const wrap = (fn: (m: string) => void) => (message: string) => fn(maskSecrets(message, secrets));
  return {
    debug: wrap((m) => sink.debug(m)),
    info: wrap((m) => sink.info(m)),
    warn: wrap((m) => sink.warn(m)),
    error: wrap((m) => sink.error(m)),
  };
}

/** Discards everything (library default). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
