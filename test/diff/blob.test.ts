/** gitBlobId against git itself, in a SHA-1 and a SHA-256 repository. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitBlobId, hashAlgorithmOf, idLength } from '../../src/diff/blob.js';
import { GitObjects } from '../../src/diff/git-objects.js';
import { createRepo, type TestRepo } from './git-repo.js';
import { gitBytes } from '../helpers/git.js';

const SAMPLES: Array<[string, Buffer]> = [
  ['empty', Buffer.alloc(0)],
  ['text', Buffer.from('hello\n')],
  ['binary', Buffer.from([0, 255, 0, 10, 13, 0])],
  ['utf-8', Buffer.from('ünï côdé ✓ 日本\n')],
  ['large', Buffer.alloc(1024 * 1024 + 7, 'x')],
];

describe.each(['sha1', 'sha256'] as const)('gitBlobId in a %s repository', (format) => {
  let r: TestRepo;
  beforeAll(() => {
    r = createRepo({ objectFormat: format });
  });
  afterAll(() => r.cleanup());

  const hashObject = (data: Buffer) =>
    gitBytes(r.dir, ['hash-object', '--stdin'], data).toString('utf8').trim();

  it.each(SAMPLES)('equals git hash-object (%s)', (_, data) => {
    const id = gitBlobId(data, format);
    expect(id).toHaveLength(idLength(format));
    expect(id).toBe(hashObject(data));
    expect(hashAlgorithmOf(id)).toBe(format);
  });

  it('names the blobs GitObjects reads back', async () => {
    r.write({ 'a.txt': 'hello\n', 'b.bin': SAMPLES[2]![1] });
    const commit = r.commit();
    expect(hashAlgorithmOf(commit)).toBe(format);
    const objects = new GitObjects(r.dir);
    try {
      expect((await objects.readBlob(gitBlobId(Buffer.from('hello\n'), format))).toString()).toBe('hello\n');
      expect((await objects.readBlob(gitBlobId(SAMPLES[2]![1], format))).equals(SAMPLES[2]![1])).toBe(true);
    } finally {
      objects.close();
    }
  });
});

describe('gitBlobId defaults', () => {
  it('is sha1 without an algorithm (the public API as before)', () => {
    expect(gitBlobId(Buffer.alloc(0))).toBe('e69de29bb2d1d6434b8b29ae775ad8c2e48c5391');
    expect(gitBlobId(Buffer.alloc(0), 'sha256')).toBe(
      '473a0f4c3be8a93681a267e3b1e9a7dcda1185436fe141f7749120a303721813',
    );
  });
});
