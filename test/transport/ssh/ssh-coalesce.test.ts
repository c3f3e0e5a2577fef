/**
 * A big file's bytes leave the client in few, large socket writes
 * (coalesce-writes.ts), not four writes per SSH packet; the file still
 * arrives byte for byte, and small request/answer round trips do not wait.
 * Against a real OpenSSH sshd on loopback, counting the TCP socket's real
 * writes (each one a system call).
 */
import * as fs from 'node:fs/promises';
import { Socket } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SshTransport } from '../../../src/transport/ssh/ssh-transport.js';
import { startSshd, type Sshd } from '../../helpers/sshd.js';
import { noise, sourceOf } from '../conformance.js';

let sshd: Sshd;
let base: string;

beforeAll(async () => {
  sshd = await startSshd();
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'diffship-ssh-coalesce-'));
});
afterAll(async () => {
  await sshd?.stop();
  await fs.rm(base, { recursive: true, force: true });
});

/** The socket writes (each one a write or writev system call) made while `work` runs. */
async function countSocketWrites(work: () => Promise<void>): Promise<{ writes: number; bytes: number }> {
  const proto = Socket.prototype as unknown as {
    _write(chunk: Buffer, ...rest: unknown[]): void;
    _writev(chunks: { chunk: Buffer }[], ...rest: unknown[]): void;
  };
  let writes = 0;
  let bytes = 0;
  const one = vi.spyOn(proto, '_write').mockImplementation(function (this: unknown, chunk, ...rest) {
    writes++;
    bytes += chunk.length;
    return original.write.call(this, chunk, ...rest);
  });
  const many = vi.spyOn(proto, '_writev').mockImplementation(function (this: unknown, chunks, ...rest) {
    writes++;
    for (const c of chunks) bytes += c.chunk.length;
    return original.writev.call(this, chunks, ...rest);
  });
  try {
    await work();
  } finally {
    one.mockRestore();
    many.mockRestore();
  }
  return { writes, bytes };
}
const original = {
  write: (Socket.prototype as unknown as { _write: (...a: unknown[]) => void })._write,
  writev: (Socket.prototype as unknown as { _writev: (...a: unknown[]) => void })._writev,
};

describe('socket writes of a big file', () => {
  for (const bulkOps of [true, false]) {
    it(`${bulkOps ? 'through the file helper' : 'over SFTP only'}: far fewer writes than SSH packets, the file whole`, async () => {
      const root = await fs.mkdtemp(path.join(base, 't'));
      const t = new SshTransport(sshd.sshOptions(), root, undefined, { bulkOps });
      await t.connect();
      try {
        const big = noise(8 * 1024 * 1024 + 5, 41);
        const counted = await countSocketWrites(() =>
          t.writeStream('big.bin', sourceOf(big), 0o640).then(() => undefined),
        );
        expect((await fs.readFile(path.join(root, 'big.bin'))).equals(big)).toBe(true);
        // ssh2 sends at most 32 KiB of data per packet, each in 4 pieces (length, ciphertext, final, tag):
        // uncoalesced that is ~4 socket writes per packet; coalesced, fewer writes than packets.
        const packets = Math.ceil(big.length / (32 * 1024));
        expect(counted.bytes).toBeGreaterThan(big.length);
        expect(counted.writes).toBeLessThan(packets);
        // A small round trip afterwards still answers (nothing is left corked).
        await t.writeFile('small.txt', Buffer.from('hi\n'), 0o644);
        expect(await fs.readFile(path.join(root, 'small.txt'), 'utf8')).toBe('hi\n');
      } finally {
        await t.close();
      }
    });
  }
});
