import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalTransport } from '../../../src/transport/local/local-transport.js';
import { describeTransport, sourceOf } from '../conformance.js';

describeTransport('local', (root) => {
  const transport = new LocalTransport(root);
  return { transport, close: () => transport.close() };
});

describe('LocalTransport.writeStream, a small source holding its bytes whole', () => {
  it('takes them at once: its iterator (a chain of async generators per file) is never started', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'diffship-whole-'));
    try {
      const t = new LocalTransport(root);
      await t.connect();
      const data = Buffer.from('a small blob\n');
      const source = sourceOf(data, { whole: true });
      const id = await t.writeStream('f.txt', source, 0o644, { hash: 'sha1' });
      expect(source.iterated).toBe(false);
      expect(await fs.readFile(path.join(root, 'f.txt'), 'utf8')).toBe('a small blob\n');
      expect(id).toBe(createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex'));
      // A count that is not the announced size: E_TRANSPORT naming the path, as when iterating.
      const short = t.writeStream('short.txt', sourceOf(data, { whole: true, size: data.length + 1 }), 0o644);
      await expect(short).rejects.toMatchObject({
        code: 'E_TRANSPORT',
        message: expect.stringMatching(/short\.txt.*announced/),
      });
      await t.close();
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});

describe('LocalTransport once closed', () => {
  it('refuses every call until connected again, and touches nothing meanwhile', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'diffship-closed-'));
    try {
      const t = new LocalTransport(root);
      await t.connect();
      await t.writeFile('a.txt', Buffer.from('a\n'), 0o644);
      await t.close();
      // Work a hard stop gave up on (rollout/hard-stop.ts) ends at its next call.
      await expect(t.lstat('a.txt')).rejects.toThrow(/cannot lstat "a\.txt": transport closed/);
      await expect(t.unlink('a.txt')).rejects.toThrow(/transport closed/);
      await expect(t.writeFile('b.txt', Buffer.from('b\n'), 0o644)).rejects.toThrow(/transport closed/);
      // No writer thread started for a batch either: the caller's one-by-one fallback is refused.
      expect(await t.writeMany([{ rel: 'c.txt', mode: 0o644, data: Buffer.from('c\n') }], 'sha1')).toBeNull();
      expect((await fs.readdir(root)).sort()).toEqual(['a.txt']);
      await t.connect();
      expect((await t.lstat('a.txt'))?.type).toBe('file');
      await t.close();
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});
