/**
 * Bytes already in memory as an OpenedFile (Transport.openRead where the file could only be read
 * whole: an SSH target without its file helper, or a file peeked ahead). They never change. Pure.
 */
import type { OpenedFile } from './transport.js';

export function bufferFile(data: Buffer): OpenedFile {
  return {
    size: data.length,
    racy: false,
    read(position, length, into) {
      const bytes = data.subarray(position, Math.min(data.length, position + length));
      if (!into || into.length < bytes.length) return bytes;
      bytes.copy(into);
      return into.subarray(0, bytes.length);
    },
    unchanged: () => true,
    close() {},
  };
}
