/**
 * A flag per item, a bit each: a staging's per-file flags (written, inside its created
 * folder's tree, hashed by the host as it wrote). A byte per file was 1 MB a flag at
 * 1,000,000 files for the whole staging; a bit is 125 KB.
 */
export class BitSet {
  private readonly words: Uint32Array;

  constructor(readonly size: number) {
    this.words = new Uint32Array(Math.ceil(size / 32));
  }

  set(i: number): void {
    this.words[i >>> 5]! |= 1 << (i & 31);
  }

  has(i: number): boolean {
    return (this.words[i >>> 5]! & (1 << (i & 31))) !== 0;
  }
}
