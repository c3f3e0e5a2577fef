/**
 * ReadAhead's bookkeeping (helper-peek.ts), pure logic: the file helper is a
 * stand-in whose answers arrive when the test says, so that a peek and a
 * change can overlap in every order. What matters: nothing a change may have
 * outdated is ever served.
 */
import { describe, expect, it } from 'vitest';
import { ReadAhead } from '../../../src/transport/ssh/helper-peek.js';
import type { SshOps } from '../../../src/transport/ssh/perl-helper-client.js';

/** A helper whose one pending answer the test gives. */
function standIn() {
  let answer: ((payload: string) => void) | undefined;
  const ops = {
    channel: () => Promise.resolve({}),
    run: () => new Promise<string>((resolve) => (answer = resolve)),
  } as unknown as SshOps;
  const tick = () => new Promise((resolve) => setImmediate(resolve));
  return { ops, answer: (payload: string) => answer!(payload), tick };
}

const FILE = (hex: string) => `33188,${hex.length / 2},0,0,0,f${hex}`;
const hex = (s: string) => Buffer.from(s).toString('hex');

describe('ReadAhead', () => {
  it('keeps a peek answered before any change, and forgets a path, its subtree and its folders on a change', async () => {
    const h = standIn();
    const ahead = new ReadAhead(h.ops);
    const peeking = ahead.peek(['s', 's/a', 's/a/b', 't'], ['s/a/b', 't']);
    await h.tick();
    h.answer(`16877,0,0,0,0 16877,0,0,0,0 ${FILE(hex('b'))} ${FILE(hex('t'))}`);
    await peeking;
    expect(ahead.get('s/a/b')?.data?.toString()).toBe('b');
    await ahead.changing(['s/a'], () => Promise.resolve());
    expect(ahead.get('s')).toBeUndefined();
    expect(ahead.get('s/a')).toBeUndefined();
    expect(ahead.get('s/a/b')).toBeUndefined();
    expect(ahead.get('t')?.data?.toString()).toBe('t');
  });

  it('forgets for a batch of changed paths in one go exactly what it forgets path by path', async () => {
    const known = ['s', 's/a', 's/a/b', 's/ab', 's/ab/c', 't', 't/u', 'v', 'w'];
    const DIR = '16877,0,0,0,0';
    const peeked = async () => {
      const h = standIn();
      const ahead = new ReadAhead(h.ops);
      const peeking = ahead.peek(known, []);
      await h.tick();
      h.answer(known.map(() => DIR).join(' '));
      await peeking;
      expect(known.filter((k) => ahead.get(k))).toEqual(known);
      return ahead;
    };
    // A file deep below s/a, a changed folder with a file below it, a path nothing knows;
    // 20,000 more staged files in a folder of its own.
    const batch = ['s/a/b/c', 't', 'x/y', ...Array.from({ length: 20_000 }, (_, i) => `st/${i}`)];
    const together = await peeked();
    await together.changing(batch, () => Promise.resolve());
    const oneByOne = await peeked();
    for (const p of batch.slice(0, 3)) await oneByOne.changing([p], () => Promise.resolve());
    const left = (a: ReadAhead) => known.filter((k) => a.get(k));
    // s/ab shares a prefix with s/a but is not below it; v and w are untouched.
    expect(left(together)).toEqual(['s/ab', 's/ab/c', 'v', 'w']);
    expect(left(together)).toEqual(left(oneByOne));
  });

  it('drops a peek answered while a change was under way, or after one', async () => {
    for (const order of ['change ends after the answer', 'change ends before the answer'] as const) {
      const h = standIn();
      const ahead = new ReadAhead(h.ops);
      const peeking = ahead.peek(['a'], ['a']);
      await h.tick(); // the peek's record is out
      let endChange!: () => void;
      const changing = ahead.changing(['a'], () => new Promise<void>((resolve) => (endChange = resolve)));
      if (order === 'change ends before the answer') {
        endChange();
        await changing;
      }
      h.answer(FILE(hex('old')));
      await peeking;
      if (order === 'change ends after the answer') {
        endChange();
        await changing;
      }
      expect(ahead.get('a'), order).toBeUndefined();
    }
  });

  it('forgets, once a change ends, a peek sent after the change began (the host may have read first)', async () => {
    const h = standIn();
    const ahead = new ReadAhead(h.ops);
    let endChange!: () => void;
    const changing = ahead.changing(['a'], () => new Promise<void>((resolve) => (endChange = resolve)));
    const peeking = ahead.peek(['a'], ['a']);
    await h.tick();
    h.answer(FILE(hex('old')));
    await peeking;
    endChange();
    await changing;
    expect(ahead.get('a')).toBeUndefined();
  });

  it('asks nothing for a path that is not a plain relative one', async () => {
    const h = standIn();
    const ahead = new ReadAhead(h.ops);
    expect(await ahead.peek(['/etc/passwd', '../x', 'a\0b'], [])).toBeNull();
  });

  it('asks for the root as `.`, keeps it as the root, and forgets it on any change (its listing changes)', async () => {
    const asked: Array<{ p: string; to: unknown }> = [];
    let answer: ((payload: string) => void) | undefined;
    const ops = {
      channel: () => Promise.resolve({}),
      run: (_h: unknown, _op: number, p: string, o: { to?: unknown }) => {
        asked.push({ p, to: o.to });
        return new Promise<string>((resolve) => (answer = resolve));
      },
    } as unknown as SshOps;
    const ahead = new ReadAhead(ops);
    const peeking = ahead.peek(['', '/etc/passwd', 'a'], ['']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(asked).toEqual([{ p: '.\0a', to: '.' }]);
    answer!(`16877,0,0,0,0,d${hex('a')}.${hex('b')} 16877,0,0,0,0`);
    await peeking;
    expect(ahead.get('')?.names).toEqual(['a', 'b']);
    expect(ahead.get('.')).toBeUndefined();
    await ahead.changing(['a/x'], () => Promise.resolve());
    expect(ahead.get('')).toBeUndefined();
  });
});
