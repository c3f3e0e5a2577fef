/**
 * SshTransport.writeStream where the file helper does not run (a host without
 * perl, or `bulkOps: false`): pipelined SFTP writes at offsets, then mode and
 * close; a failing source closes the handle and leaves the transport usable.
 * Hashing a big file without host tools reads it over SFTP in chunks. Against
 * a real OpenSSH sshd on loopback. (With the helper: ssh.conformance.test.ts.)
 */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SshTransport } from '../../../src/transport/ssh/ssh-transport.js';
import { startSshd, type Sshd } from '../../helpers/sshd.js';
import { gitHashObject, noise, sourceOf } from '../conformance.js';

let sshd: Sshd;
let base: string;
let root: string;
let t: SshTransport;
let counter = 0;

beforeAll(async () => {
  sshd = await startSshd();
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'diffship-ssh-stream-'));
});
afterAll(async () => {
  await sshd?.stop();
  await fs.rm(base, { recursive: true, force: true });
});
beforeEach(async () => {
  root = path.join(base, `t${counter++}`);
  await fs.mkdir(root);
  t = new SshTransport(sshd.sshOptions(), root, undefined, { bulkOps: false, hashMethod: 'sftp' });
  await t.connect();
});
afterEach(async () => {
  await t.close();
});

describe('writeStream over SFTP only', () => {
  it('a big file arrives byte for byte with its exact mode; hashing it reads it in chunks', async () => {
    const big = noise(6 * 1024 * 1024 + 11, 21);
    await t.writeStream('big.bin', sourceOf(big), 0o751);
    expect((await fs.readFile(path.join(root, 'big.bin'))).equals(big)).toBe(true);
    expect((await fs.stat(path.join(root, 'big.bin'))).mode & 0o7777).toBe(0o751);
    const ids = await t.hashFiles(['big.bin']);
    expect(ids.get('big.bin')).toBe(gitHashObject(path.join(root, 'big.bin')));
    expect((await t.hashFiles(['big.bin'], { algorithm: 'sha256' })).get('big.bin')).toBe(
      gitHashObject(path.join(root, 'big.bin'), 'sha256'),
    );
  });

  it('streams and small writes at once all arrive whole', async () => {
    const bigs = [0, 1].map((i) => noise(2 * 1024 * 1024 + i, 30 + i));
    const smalls = Array.from({ length: 40 }, (_, i) => Buffer.from(`s${i}\n`.repeat(i * 50)));
    await Promise.all([
      ...bigs.map((b, i) => t.writeStream(`big${i}`, sourceOf(b), 0o644, { sync: false })),
      ...smalls.map((b, i) => t.writeStream(`small${i}`, sourceOf(b), 0o644, { sync: false })),
    ]);
    await t.syncWritten();
    for (const [i, b] of bigs.entries())
      expect((await fs.readFile(path.join(root, `big${i}`))).equals(b)).toBe(true);
    for (const [i, b] of smalls.entries())
      expect((await fs.readFile(path.join(root, `small${i}`))).equals(b)).toBe(true);
  });

  it('a source that fails part way: its own error, the handle closed, later writes fine', async () => {
    const data = noise(4 * 1024 * 1024, 22);
    const error = new Error('git went away');
    const source = sourceOf(data, { failAfter: 2 * 1024 * 1024, error });
    await expect(t.writeStream('cut.bin', source, 0o644)).rejects.toBe(error);
    expect(source.stopped).toBe(true);
    // The partial file can be removed (its handle is closed) and the transport writes on.
    await t.unlink('cut.bin');
    await t.writeStream('after.bin', sourceOf(data), 0o644);
    expect((await fs.readFile(path.join(root, 'after.bin'))).equals(data)).toBe(true);
    await expect(
      t.writeStream('short.bin', sourceOf(data, { size: data.length + 1 }), 0o644),
    ).rejects.toMatchObject({ code: 'E_TRANSPORT', message: expect.stringMatching(/short\.bin.*announced/) });
  });

  it('the host refusing a write (a missing folder) stops the source and names the path', async () => {
    const data = noise(1024 * 1024, 23);
    const source = sourceOf(data);
    await expect(t.writeStream('no/such/dir/f.bin', source, 0o644)).rejects.toMatchObject({
      code: 'E_TRANSPORT',
      message: expect.stringContaining('no/such/dir/f.bin'),
    });
  });
});
