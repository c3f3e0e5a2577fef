/**
 * Run `fn` over `items` with at most `limit` in flight; results keep input order.
 * The first error wins, but only after the calls already in flight have settled:
 * callers that clean up after a failure (the apply engine) must not race them.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  await forEachLimit(items, limit, async (item, i) => {
    results[i] = await fn(item, i);
  });
  return results;
}

/**
 * `mapLimit` for calls whose results are not wanted: no array of them. A first deploy's
 * 500,000 staged writes and renames each held one (8 bytes a file, in the large-object
 * space for the whole phase).
 */
export async function forEachLimit<T>(
  items: Iterable<T> & { readonly length: number },
  limit: number,
  fn: (item: T, index: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  let failed: unknown = null;
  // Taken by iterating, not indexing: a listing's view (diff/listing-view.ts) makes a key string
  // for each index read.
  const each = items[Symbol.iterator]();
  const count = items.length;
  const worker = async () => {
    while (failed === null && next < count) {
      const i = next++;
      const item = each.next().value as T;
      try {
        await fn(item, i);
      } catch (error) {
        failed ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, count)) }, worker));
  if (failed !== null) throw failed;
}
