/**
 * Random reads of a manifest source (manifest-source.ts) for a binary search
 * over its lines: fixed blocks, the last few kept, so the search's first probes
 * (the same for every path sought) and a line's neighbours cost no read.
 */
import type { ManifestSource } from './manifest-source.js';

const BLOCK = 64 * 1024;
/** Blocks kept (1 MiB): a search's first probes, the same for every path, stay read. */
const KEEP = 16;

export class ManifestBlocks {
  private readonly kept = new Map<number, Buffer>();

  constructor(readonly source: ManifestSource) {}

  get size(): number {
    return this.source.size;
  }

  /** The first `byte` at or after `from`, or -1. */
  indexOf(byte: number, from: number): number {
    if (this.source.buffer) return this.source.buffer.indexOf(byte, from);
    for (let at = from; at < this.size;) {
      const n = Math.floor(at / BLOCK);
      const found = this.block(n).indexOf(byte, at - n * BLOCK);
      if (found >= 0) return n * BLOCK + found;
      at = (n + 1) * BLOCK;
    }
    return -1;
  }

  /** The last `byte` before `before` (excluded), or -1. */
  lastIndexOf(byte: number, before: number): number {
    if (this.source.buffer) return before <= 0 ? -1 : this.source.buffer.lastIndexOf(byte, before - 1);
    for (let at = before - 1; at >= 0;) {
      const n = Math.floor(at / BLOCK);
      const found = this.block(n).lastIndexOf(byte, at - n * BLOCK);
      if (found >= 0) return n * BLOCK + found;
      at = n * BLOCK - 1;
    }
    return -1;
  }

  /** The text of bytes [from, to). */
  text(from: number, to: number): string {
    if (this.source.buffer) return this.source.buffer.toString('utf8', from, to);
    const first = Math.floor(from / BLOCK);
    if (Math.floor((to - 1) / BLOCK) === first)
      return this.block(first).toString('utf8', from - first * BLOCK, to - first * BLOCK);
    return this.source.read(from, to).toString('utf8');
  }

  private block(n: number): Buffer {
    let b = this.kept.get(n);
    if (b) {
      this.kept.delete(n);
    } else {
      b = this.source.read(n * BLOCK, Math.min(this.size, (n + 1) * BLOCK));
      if (this.kept.size >= KEEP) this.kept.delete(this.kept.keys().next().value!);
    }
    this.kept.set(n, b);
    return b;
  }
}
