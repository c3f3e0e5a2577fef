/**
 * A ByteSource that fills one buffer again for each chunk (`reused`: the way a
 * big manifest is written, manifest-store.ts) arrives byte for byte over SSH,
 * through the file helper and over SFTP alone: the writer is done with each
 * chunk before it asks for the next, though ssh2 keeps a chunk the channel's
 * window has no room for, and the stream queues the ones written meanwhile.
 * Against a real OpenSSH sshd on loopback.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshTransport } from '../../../src/transport/ssh/ssh-transport.js';
import type { ByteSource } from '../../../src/transport/transport.js';
import { startSshd, type Sshd } from '../../helpers/sshd.js';

let sshd: Sshd;
let base: string;
beforeAll(async () => {
  sshd = await startSshd();
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'diffship-ssh-reused-'));
});
afterAll(async () => {
  await sshd?.stop();
  await fs.rm(base, { recursive: true, force: true });
});

const CHUNK = 256 * 1024;
const CHUNKS = 48; // 12 MiB: several times the channel's 2 MiB window

/** Chunk `i`'s bytes: its number everywhere, so a chunk sent after its buffer was refilled shows. */
const fill = (buffer: Buffer, i: number) => {
  for (let at = 0; at < buffer.length; at += 4) buffer.writeUInt32BE(i * 7919 + at, at);
};

function reusedSource(reused: boolean): { source: ByteSource; sha256: string } {
  const expected = createHash('sha256');
  const scratch = Buffer.alloc(CHUNK);
  for (let i = 0; i < CHUNKS; i++) {
    fill(scratch, i);
    expected.update(scratch);
  }
  const source: ByteSource = {
    size: CHUNK * CHUNKS,
    reused,
    async *[Symbol.asyncIterator]() {
      const buffer = Buffer.alloc(CHUNK);
      for (let i = 0; i < CHUNKS; i++) {
        fill(buffer, i);
        yield buffer;
      }
    },
  };
  return { source, sha256: expected.digest('hex') };
}

const sha256Of = async (file: string) =>
  createHash('sha256')
    .update(await fs.readFile(file))
    .digest('hex');

describe('a source that refills one buffer, written over SSH', () => {
  for (const [how, tuning] of [
    ['through the file helper', {}],
    ['over SFTP alone', { bulkOps: false }],
  ] as const) {
    it(`arrives byte for byte ${how}`, async () => {
      const root = await fs.mkdtemp(path.join(base, 't-'));
      const t = new SshTransport(sshd.sshOptions(), root, undefined, tuning);
      try {
        await t.connect();
        const { source, sha256 } = reusedSource(true);
        await t.writeStream('manifest.tsv', source, 0o644);
        expect(await sha256Of(path.join(root, 'manifest.tsv'))).toBe(sha256);
      } finally {
        await t.close();
      }
    }, 60_000);
  }
});
