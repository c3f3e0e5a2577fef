/**
 * What a path on a target is. Shared vocabulary of the transports (which report
 * it) and the pure planner (which compares it with the release), so it lives
 * outside both: src/plan/ must not import a transport.
 */
export type EntryType = 'file' | 'dir' | 'symlink' | 'other';
