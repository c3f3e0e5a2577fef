/**
 * A copy of a target's report that the work still winding down after a give-up (hard-stop.ts)
 * no longer changes: plain objects and arrays copied all the way down, strings and other
 * primitives shared, as they cannot change. structuredClone also copied every string: for a
 * 500,000-file first deploy given up on, its copy and the garbage it made took a few hundred
 * ms of the 5 s a SIGTERM allows. A report is plain JSON data (report/types.ts).
 */
export function detachedCopy<T>(value: T): T {
  if (Array.isArray(value)) return value.map((item: unknown) => detachedCopy(item)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = detachedCopy(item);
    return out as T;
  }
  return value;
}
