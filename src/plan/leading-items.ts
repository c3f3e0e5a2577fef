/**
 * A list taken from an array item by item, in order, that is the array's own first items for as
 * long as it can be: no copy of a first deploy's 500,000 changes for its writes or its added
 * files, only a count. The first item left out makes it an array of its own.
 */
export class LeadingItems<T> {
  /** The list's own array, from the first item left out. */
  private own: T[] | null = null;
  /** How many of `all`'s first items the list is, while it has no array of its own. */
  private lead = 0;

  constructor(private readonly all: readonly T[]) {}

  /** Take `item`, the one at `at` in `all` (an item of another list may stand in for it). */
  take(item: T, at: number): void {
    if (this.own === null && this.lead === at) this.lead++;
    else (this.own ??= this.all.slice(0, this.lead)).push(item);
  }

  /** The items taken: `all` itself when they are all of it. */
  list(): T[] {
    return this.own ?? (this.lead === this.all.length ? (this.all as T[]) : this.all.slice(0, this.lead));
  }
}
