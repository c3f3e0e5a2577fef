/**
 * What a path on a target is. Shared vocabulary of the transports (which report
 * it) and the pure planner (which compares it with the release), so it lives
 * outside both: src/plan/ must not import a transport.
 */
export type EntryType = 'file' | 'dir' | 'symlink' | 'other';

/** The type as a message says it: "a file", "a folder", "a symlink", never "a other". */
export function aType(type: EntryType): string {
  if (type === 'dir') return 'a folder';
  if (type === 'other') return 'a FIFO, socket or device';
  return `a ${type}`;
}
