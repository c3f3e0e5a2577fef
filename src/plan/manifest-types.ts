/** The manifest's shape (apply/manifest.ts reads and writes it): plain types, so plan/ and transport/ can name them. */

/** The manifest format's version; bump it (and upgrade older ones on read) when its shape changes. */
export const MANIFEST_VERSION = 1;

/** The git modes a shipped file can have. */
export type ManifestMode = '100644' | '100755' | '120000';

/** What lstat said about a file right after diffship put it in place (git index style). */
export interface FileStat {
  size: number;
  /** Nanoseconds since the epoch, as a decimal string (too big for a JSON number). */
  mtimeNs: string;
  ctimeNs: string;
  /** Inode number, decimal string. */
  ino: string;
  /** st_mode: type and permission bits. */
  mode: number;
}

export interface ManifestEntry {
  path: string;
  blob: string;
  mode: ManifestMode;
  /** Absent when no exact stat was taken (the ssh transport, or an entry carried over without one). */
  stat?: FileStat;
}

export interface Manifest {
  version: typeof MANIFEST_VERSION;
  /** Sorted by path (byte order); one entry per file of the recorded release as shipped. */
  files: ManifestEntry[];
}
