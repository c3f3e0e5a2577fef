/**
 * The target's entries as an authoritative plan observed them: a Map to every reader, with its
 * strays (files the walk named, nobody compared, no list holds) kept apart as a plain array of
 * their paths, in byte order once read.
 *
 * Why: a stray as a Map entry, then a copy of that Map in path order, then a `DeleteOp` and a
 * slot in `changes.deleted` each, was ~180 bytes of heap a stray beside its path: 900,000
 * strays planned at 241 MiB. Here a stray is its path and one array slot until the plan takes
 * them into its deletes (stray-deletes.ts: many go into a path column, no string each).
 */
import { byteOrder, sortPaths, SURROGATE } from '../byte-order.js';
import type { Observed } from './types.js';

/** What the walk alone says of a file. */
const TYPE_ONLY_FILE: Observed = Object.freeze({ type: 'file', blob: null, mode: 0 });

export class ObservedEntries extends Map<string, Observed> {
  /** `stray`: the value each stray reads as (the caller's shared type-only object for a file). */
  constructor(readonly stray: Observed = TYPE_ONLY_FILE) {
    super();
  }

  /** The strays' paths; in byte order and without a path the Map holds once `settled`. */
  private list: string[] = [];
  /** Whether the list was settled (sorted, paths set since taken out) since the last stray came. */
  private settled = true;
  /** Whether the strays came in byte order so far (a sorted walk's do: no sort then). */
  private ordered = true;
  /** Whether a stray's name holds a surrogate (then compared as bytes); known once settled. */
  private odd = false;
  /** Strays given an entry of their own (`set`) or deleted once settled: rare, skipped when read. */
  private readonly gone = new Set<string>();

  /** Keep a file the walk named and no list holds (a stray unless told otherwise). */
  addStray(path: string): void {
    if (super.has(path)) {
      super.set(path, this.stray);
      return;
    }
    const last = this.list[this.list.length - 1];
    if (last !== undefined && this.ordered && !(last < path)) this.ordered = byteOrder(last, path) < 0;
    this.list.push(path);
    this.settled = false;
  }

  /** How many strays are kept apart. */
  get strayCount(): number {
    this.settle();
    return this.list.length - this.gone.size;
  }

  /** The strays, in byte order: the array itself (read only), unless some went (a filtered copy). */
  strays(): readonly string[] {
    this.settle();
    return this.gone.size === 0 ? this.list : this.list.filter((p) => !this.gone.has(p));
  }

  /** The entries other than the kept-apart strays, in the Map's own order. */
  others(): IterableIterator<[string, Observed]> {
    return super.entries();
  }

  /** The Map's own entries in path order (a walk in find's order, sorted once done). */
  sortInPlace(): this {
    const entries = [...super.entries()];
    const order = sortPaths(entries.map(([p]) => p));
    const byPath = new Map(entries);
    super.clear();
    for (const p of order) super.set(p, byPath.get(p)!);
    this.settle();
    return this;
  }

  override get size(): number {
    return super.size + this.strayCount;
  }

  override get(path: string): Observed | undefined {
    return super.get(path) ?? (this.isStray(path) ? this.stray : undefined);
  }

  override has(path: string): boolean {
    return super.has(path) || this.isStray(path);
  }

  override set(path: string, value: Observed): this {
    // While strays come (a walk), a set is sorted out when they are read (settle), not searched now.
    if (this.settled && this.list.length > 0 && !super.has(path) && this.isStray(path)) this.gone.add(path);
    return super.set(path, value);
  }

  override delete(path: string): boolean {
    if (super.delete(path)) return true;
    if (!this.isStray(path)) return false;
    this.gone.add(path);
    return true;
  }

  override clear(): void {
    super.clear();
    this.list = [];
    this.settled = true;
    this.ordered = true;
    this.gone.clear();
  }

  override *entries(): MapIterator<[string, Observed]> {
    yield* super.entries();
    for (const p of this.strays()) yield [p, this.stray];
  }

  override [Symbol.iterator](): MapIterator<[string, Observed]> {
    return this.entries();
  }

  override *keys(): MapIterator<string> {
    for (const [p] of this.entries()) yield p;
  }

  override *values(): MapIterator<Observed> {
    for (const [, v] of this.entries()) yield v;
  }

  override forEach(
    fn: (value: Observed, key: string, map: Map<string, Observed>) => void,
    that?: unknown,
  ): void {
    for (const [p, v] of this.entries()) fn.call(that, v, p, this);
  }

  /** Whether `path` is a kept-apart stray still (a binary search of the sorted list). */
  private isStray(path: string): boolean {
    if (this.list.length === 0) return false;
    this.settle();
    if (this.gone.has(path)) return false;
    const { list, odd } = this;
    let lo = 0;
    let hi = list.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const at = list[mid]!;
      if (at === path) return true;
      // Sorted by the engine's string order when no name holds a surrogate (sortPaths): the same here.
      if (odd ? byteOrder(at, path) < 0 : at < path) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  /** Once the walk is done (its first read): sorted, and any path the Map holds since taken out. */
  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    if (!this.ordered) sortPaths(this.list);
    this.ordered = true;
    this.odd = this.list.some((p) => SURROGATE.test(p));
    if (super.size > 0) for (const p of this.list) if (super.has(p)) this.gone.add(p);
  }
}
