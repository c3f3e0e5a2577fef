// The files a local transport wrote without fsync, until syncWritten() makes them durable.
// Past SYNCFS_ABOVE files one syncfs beats an fsync each, so their names are no longer needed:
// they are dropped (a 500,000-file deploy would otherwise hold 500,000 absolute paths).

/** Above this many unsynced files, one syncfs is cheaper than an fsync each. */
const SYNCFS_ABOVE = 256;

export class Unsynced {
  private files = new Set<string>();
  private many = false;

  add(p: string): void {
    if (this.many) return;
    this.files.add(p);
    if (this.files.size > SYNCFS_ABOVE) {
      this.many = true;
      this.files = new Set();
    }
  }

  /** A file renamed before its sync (a JSON file written whole by rename): sync it under its new name. */
  moved(from: string, to: string): void {
    if (this.files.delete(from)) this.files.add(to);
  }

  /** Take the list: the files to fsync, 'filesystem' when there are too many, null when none. */
  take(): string[] | 'filesystem' | null {
    const taken = this.many ? 'filesystem' : this.files.size > 0 ? [...this.files] : null;
    this.files = new Set();
    this.many = false;
    return taken;
  }
}
