/**
 * Where things live in a target's state folder. Everything diffship keeps on a
 * target is inside it, so one `protect`-like exclusion covers it and staging
 * stays on the target's filesystem (rename into place is then atomic).
 */
import { posix } from 'node:path';

export interface Layout {
  dir: string;
  state: string;
  lock: string;
  journal: string;
  staging: string;
  backups: string;
  /** The manifest files (apply/manifest-store.ts). */
  manifests: string;
  stagingFor(deployId: string): string;
  backupFor(deployId: string): string;
  /** A backup's listing (backup.ts): written last, so a backup without it is incomplete. */
  backupListing(deployId: string): string;
}

export function layout(stateDir: string): Layout {
  const dir = posix.normalize(stateDir).replace(/\/+$/, '');
  return {
    dir,
    state: `${dir}/state.json`,
    lock: `${dir}/lock.json`,
    journal: `${dir}/journal.json`,
    staging: `${dir}/staging`,
    backups: `${dir}/backups`,
    manifests: `${dir}/manifests`,
    stagingFor: (id) => `${dir}/staging/${id}`,
    backupFor: (id) => `${dir}/backups/${id}`,
    backupListing: (id) => `${dir}/backups/${id}/manifest.json`,
  };
}
