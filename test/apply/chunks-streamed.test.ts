/**
 * Text written by writeChunksAtomic (the backup record) past 1 MiB is streamed through one
 * reused buffer, as the manifest is (json-file.ts): a 300,000-entry backup's fresh 256 KiB
 * chunks were 8 MiB of a deploy's peak RSS. Every chunk must reach the file before the buffer
 * is filled again: read back, the file is the text exactly. A real local target.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeChunksAtomic } from '../../src/apply/json-file.js';
import { TextChunks } from '../../src/apply/text-chunks.js';
import { LocalTransport } from '../../src/transport/local/local-transport.js';
import { tempDir } from '../helpers/git.js';

const dir = tempDir('diffship-chunks-streamed-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `count` numbered lines in 64 KiB chunks, as the backup's writer makes them; `asked` records each `reuse`. */
function lines(count: number, asked: boolean[]) {
  return function* (reuse: boolean): Generator<Buffer> {
    asked.push(reuse);
    const text = new TextChunks(64 * 1024, reuse);
    for (let i = 0; i < count; i++) {
      const line = `    {"path":"junk/folder-${i % 300}/stray-${i}.txt","action":"remove"}`;
      const full = text.roomFor(line, true);
      if (full) yield full;
      text.put(line, true);
    }
    const last = text.take();
    if (last) yield last;
  };
}

const expected = (count: number) =>
  Array.from(
    { length: count },
    (_, i) => `    {"path":"junk/folder-${i % 300}/stray-${i}.txt","action":"remove"}\n`,
  ).join('');

describe('writeChunksAtomic', () => {
  it.each([
    ['past 1 MiB: one reused buffer', 40_000, [true, true]],
    ['under 1 MiB: a fresh buffer per chunk (a writer gathers a small file whole)', 5_000, [true, false]],
  ] as const)('%s, and the file is the text exactly', async (_, count, reuses) => {
    const t = new LocalTransport(dir);
    await t.connect();
    try {
      const asked: boolean[] = [];
      await writeChunksAtomic(t, `record-${count}.json`, lines(count, asked), { sync: false });
      expect(asked).toEqual(reuses);
      expect(readFileSync(join(dir, `record-${count}.json`), 'utf8')).toBe(expected(count));
    } finally {
      await t.close();
    }
  });
});
