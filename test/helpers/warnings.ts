/** A Logger that keeps the warnings it is given, for tests that check what a run warned about. */
import type { Logger } from '../../src/log.js';

export function warnings(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { lines, log: { debug() {}, info() {}, error() {}, warn: (m) => lines.push(m) } };
}
