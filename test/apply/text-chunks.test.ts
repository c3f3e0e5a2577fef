import { describe, expect, it } from 'vitest';
import { TextChunks } from '../../src/apply/text-chunks.js';

/** Every chunk handed on, copied as a consumer takes it: before the next line is put. */
function collect(text: TextChunks, lines: string[], newline: boolean): string {
  const out: Buffer[] = [];
  for (const line of lines) {
    const full = text.roomFor(line, newline);
    if (full) out.push(Buffer.from(full));
    text.put(line, newline);
  }
  const last = text.take();
  if (last) out.push(Buffer.from(last));
  return Buffer.concat(out).toString('utf8');
}

describe('TextChunks', () => {
  // Short lines first (a reused buffer handed on and then written again), then long ones.
  const lines = ['abc', 'def', 'ghi', 'jkl', 'mn', 'a', 'ünïcödé', '😀 emoji', 'x'.repeat(100), '', 'end'];

  for (const reuse of [false, true])
    it(`gives the lines' UTF-8 whole and in order, lines longer than a chunk included (reuse: ${reuse})`, () => {
      expect(collect(new TextChunks(16, reuse), lines, true)).toBe(`${lines.join('\n')}\n`);
      expect(collect(new TextChunks(16, reuse), lines, false)).toBe(lines.join(''));
    });

  it('hands a chunk on only when the next line has no room, and nothing when empty', () => {
    const text = new TextChunks(8, false);
    expect(text.take()).toBeUndefined();
    expect(text.roomFor('ab', true)).toBeUndefined(); // 2 * 3 + 1 = 7 bytes at most: fits
    text.put('ab', true);
    expect(text.roomFor('c', true)).toBeUndefined(); // 3 used + 4 at most: fits
    text.put('c', true);
    expect(text.roomFor('de', true)?.toString()).toBe('ab\nc\n'); // 5 used + 7: no room
    text.put('de', true);
    expect(text.take()?.toString()).toBe('de\n');
  });
});
