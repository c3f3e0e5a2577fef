/**
 * What a target's state folder holds besides its state, for `status`: the
 * staging of a run that failed (or was killed) and the backups, with their
 * size, so a full disk can be traced to diffship's own files.
 */
import type { Transport } from '../transport/transport.js';
import type { Layout } from './layout.js';

interface FolderSize {
  /** Entries directly inside (staging: one per failed run; backups: one per deploy). */
  count: number;
  /** Bytes of every file below, symlinks not followed. */
  bytes: number;
}

export interface StateFolderUsage {
  staging: FolderSize;
  backups: FolderSize;
}

async function sizeOf(t: Transport, rel: string): Promise<FolderSize> {
  const names = await t.readdir(rel);
  if (names === null) return { count: 0, bytes: 0 };
  let bytes = 0;
  for (const e of await t.walk(rel)) if (e.type === 'file') bytes += e.size;
  return { count: names.length, bytes };
}

export async function stateFolderUsage(t: Transport, l: Layout): Promise<StateFolderUsage> {
  return { staging: await sizeOf(t, l.staging), backups: await sizeOf(t, l.backups) };
}
