/**
 * manifestChunks: a manifest file's text decoded a chunk at a time. Each chunk
 * must stay below V8's large-object size (128 KiB for a one-byte string): a
 * 1 MiB chunk was allocated in the large-object space, counted as old space,
 * and at 500,000 files (~70 MB of text read per authoritative update) its growth
 * set off the CLI's paced full collections (gc-pacer.ts) 7 times per deploy;
 * chunks of 64 KiB die in the young generation. The text must come out whole
 * all the same: every line intact, also one longer than a chunk, and multi-byte
 * characters never cut.
 */
import { describe, expect, it } from 'vitest';
import { manifestChunks } from '../../src/apply/manifest-chunks.js';
import { bufferSource } from '../../src/apply/manifest-source.js';
import { MANIFEST_HEADER } from '../../src/apply/manifest-text.js';

/** V8's largest object in a regular (young or old) page: bigger ones go to the large-object space. */
const LARGE_OBJECT = 128 * 1024;

describe('manifestChunks', () => {
  it('decodes the text in chunks below the large-object size, whole lines each, nothing lost', () => {
    const lines: string[] = [];
    for (let i = 0; i < 30_000; i++) lines.push(`${'1'.repeat(40)}\t100644\t-\tü-dir/ファイル-${i}.txt`);
    // One line longer than any chunk: the window widens until it holds it.
    lines.splice(12_345, 0, `${'2'.repeat(40)}\t100644\t-\t${'d/'.repeat(100_000)}x`);
    const text = `${lines.join('\n')}\n`;
    const data = Buffer.from(`${MANIFEST_HEADER}\n${text}`, 'utf8');
    expect(data.length).toBeGreaterThan(2 * 1024 * 1024);

    const chunks = [...manifestChunks(bufferSource(data), 'm')];
    expect(chunks.join('\n')).toBe(text.slice(0, -1));
    // Every chunk ends at a line's end; all but the one holding the long line are small.
    for (const c of chunks) expect(text.includes(`${c}\n`)).toBe(true);
    const big = chunks.filter((c) => Buffer.byteLength(c, 'utf8') >= LARGE_OBJECT);
    expect(big).toHaveLength(1);
    expect(big[0]).toContain('d/'.repeat(100_000));
    expect(chunks.length).toBeGreaterThan(data.length / LARGE_OBJECT);
  });
});
