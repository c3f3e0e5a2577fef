import { createHash } from 'node:crypto';

/** git's blob id of some bytes: sha1("blob <size>\0" + bytes). Same as `git hash-object`. */
export function gitBlobId(data: Uint8Array): string {
  return createHash('sha1').update(`blob ${data.byteLength}\0`).update(data).digest('hex');
}
