import { describe, expect, it } from 'vitest';
import { TransportError } from '../../src/errors.js';
import { CheckedSource } from '../../src/transport/byte-source.js';
import type { ByteSource } from '../../src/transport/transport.js';

/** A source that announces `size` bytes and gives `chunks`. */
function source(size: number, chunks: Buffer[], whole?: Buffer): ByteSource {
  return {
    size,
    async *[Symbol.asyncIterator]() {
      for (const c of chunks) yield c;
    },
    ...(whole ? { whole: () => whole } : {}),
  };
}

async function drain(s: AsyncIterable<Buffer>): Promise<number> {
  let n = 0;
  for await (const c of s) n += c.length;
  return n;
}

// A source whose bytes disagree with the size it announced (a cut-short or corrupt read of the
// repository) must fail as a typed E_VERIFY error, never land as a shorter or longer file.
describe('CheckedSource', () => {
  it('passes a source that gives exactly what it announced', async () => {
    expect(await drain(new CheckedSource(source(6, [Buffer.from('abc'), Buffer.from('def')])))).toBe(6);
  });

  it('fails a short source with E_VERIFY naming both counts', async () => {
    const error = await drain(new CheckedSource(source(10, [Buffer.from('abc')]))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).code).toBe('E_VERIFY');
    expect((error as Error).message).toBe('the source gave 3 bytes where it announced 10');
  });

  it('fails a long source as soon as it passes its size', async () => {
    const error = await drain(new CheckedSource(source(2, [Buffer.from('abc')]))).catch((e: unknown) => e);
    expect((error as TransportError).code).toBe('E_VERIFY');
    expect((error as Error).message).toMatch(/more than the 2 bytes/);
  });

  it('checks a whole source the same way', () => {
    const checked = new CheckedSource(source(4, [], Buffer.from('abc')));
    expect(() => checked.whole()).toThrow(TransportError);
    expect(new CheckedSource(source(3, [], Buffer.from('abc'))).whole()?.toString()).toBe('abc');
  });

  it("blames the source's own failure rather than the writer's", async () => {
    const own = new Error('bad pack');
    const failing: ByteSource = {
      size: 3,
      // eslint-disable-next-line require-yield
      async *[Symbol.asyncIterator]() {
        throw own;
      },
    };
    const checked = new CheckedSource(failing);
    await expect(drain(checked)).rejects.toBe(own);
    expect(checked.blame(new Error('EPIPE'))).toBe(own);
  });
});
