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

  it('without reuse, a chunk handed on early leaves the rest of its buffer to the next text, never written over', () => {
    // A buffer of its own: one under half of Buffer.poolSize (64 KiB on Node 24) comes from Node's
    // shared pool, where every buffer is in one ArrayBuffer.
    const size = Buffer.poolSize;
    const text = new TextChunks(size, false);
    text.put('ab', true);
    const first = text.take()!;
    text.put('cd', true);
    const second = text.take()!;
    expect(text.take()).toBeUndefined();
    text.put('ef', true);
    const third = text.take()!;
    expect([first, second, third].map(String)).toEqual(['ab\n', 'cd\n', 'ef\n']);
    // One buffer for all three (a take used to cost a new buffer of the chunk's size), back to back.
    expect(second.buffer).toBe(first.buffer);
    expect(third.buffer).toBe(first.buffer);
    expect(second.byteOffset).toBe(first.byteOffset + first.length);
    expect(third.byteOffset).toBe(second.byteOffset + second.length);
    // No room left for the next text (9 used + up to 3 bytes a character > size): it goes to a new
    // buffer (nothing was pending to hand on), and what was handed on stays as it was.
    const long = 'x'.repeat(Math.ceil(size / 3));
    expect(text.roomFor(long, true)).toBeUndefined();
    text.put(long, true);
    const fourth = text.take()!;
    expect(fourth.toString()).toBe(`${long}\n`);
    expect(fourth.buffer).not.toBe(first.buffer);
    expect([first, second, third].map(String)).toEqual(['ab\n', 'cd\n', 'ef\n']);
  });
});
