import { describe, expect, it } from 'vitest';
import { TextChunks } from '../../src/apply/text-chunks.js';

/** Every chunk handed on, copied (a reused buffer is overwritten by the next chunk). */
function collect(text: TextChunks, lines: string[], newline: boolean): string {
  const out: Buffer[] = [];
  for (const line of lines) {
    const full = text.add(line, newline);
    if (full) out.push(Buffer.from(full));
  }
  const last = text.take();
  if (last) out.push(Buffer.from(last));
  return Buffer.concat(out).toString('utf8');
}

describe('TextChunks', () => {
  const lines = ['a', 'ünïcödé', '😀 emoji', 'x'.repeat(100), '', 'end'];

  for (const reuse of [false, true])
    it(`gives the lines' UTF-8 whole and in order, lines longer than a chunk included (reuse: ${reuse})`, () => {
      expect(collect(new TextChunks(16, reuse), lines, true)).toBe(`${lines.join('\n')}\n`);
      expect(collect(new TextChunks(16, reuse), lines, false)).toBe(lines.join(''));
    });

  it('hands a chunk on only when the next line has no room, and nothing when empty', () => {
    const text = new TextChunks(8, false);
    expect(text.take()).toBeUndefined();
    expect(text.add('ab', true)).toBeUndefined(); // 2 * 3 + 1 = 7 bytes at most: fits
    expect(text.add('c', true)).toBeUndefined(); // 3 used + 4 at most: fits
    expect(text.add('de', true)?.toString()).toBe('ab\nc\n'); // 5 used + 7: no room
    expect(text.take()?.toString()).toBe('de\n');
  });
});
