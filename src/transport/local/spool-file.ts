/**
 * A local file that holds a copy of a target's file while this process reads it by offset
 * (an SSH target's manifest: ~70 MB at 500,000 files, read in pieces instead of held in
 * memory). Made in the system's temporary folder (TMPDIR), readable by this user only, and
 * unlinked at once with its folder: only the descriptor keeps it, so nothing is left behind
 * however the process ends, and no other process finds it by name.
 */
import * as fsSync from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { OpenedFile } from '../transport.js';
import { openedDescriptor } from './opened-file.js';

export interface SpoolFile {
  /** Bytes written so far (the next write goes after them). */
  readonly size: number;
  /** Append `bytes` (synchronously: the caller's buffer is free again when this returns). */
  append(bytes: Uint8Array): void;
  /** The bytes appended, as a file to read by offset; the spool is the file's from here on. */
  finish(): OpenedFile;
  /** Give it back unread (its descriptor closed, its bytes freed). */
  discard(): void;
}

/** A new, empty spool. @throws the system's error where the temporary folder cannot hold one. */
export function createSpool(): SpoolFile {
  const dir = fsSync.mkdtempSync(path.join(os.tmpdir(), 'diffship-spool-'));
  let fd = -1;
  try {
    const file = path.join(dir, 'spool');
    fd = fsSync.openSync(file, 'wx+', 0o600);
    fsSync.unlinkSync(file);
  } catch (error) {
    if (fd >= 0) fsSync.closeSync(fd);
    throw error;
  } finally {
    fsSync.rmSync(dir, { recursive: true, force: true });
  }
  let size = 0;
  let open = true;
  return {
    get size() {
      return size;
    },
    append(bytes) {
      for (let at = 0; at < bytes.length;)
        at += fsSync.writeSync(fd, bytes, at, bytes.length - at, size + at);
      size += bytes.length;
    },
    finish() {
      open = false;
      try {
        // Never racy: nothing else writes to an unlinked file only this process holds.
        return openedDescriptor(fd, fsSync.fstatSync(fd, { bigint: true }), false, true);
      } catch (error) {
        fsSync.closeSync(fd);
        throw error;
      }
    },
    discard() {
      if (!open) return;
      open = false;
      fsSync.closeSync(fd);
    },
  };
}
