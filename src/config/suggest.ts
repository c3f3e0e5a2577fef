/**
 * "Did you mean" hints for misspelt keys and placeholders. A small optimal
 * string alignment distance (Levenshtein plus adjacent swaps, so `hsot` is one
 * step from `host`) is all a handful of candidates needs.
 */

/** Edit distance counting insertions, deletions, substitutions and adjacent swaps as 1. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** `state_dir`, `stateDir` and `State-Dir` all mean `state-dir`. */
const fold = (s: string) => s.toLowerCase().replace(/[-_\s]/g, '');

/**
 * The candidate closest to `word`, or undefined when none is close enough
 * (at most 2 edits, and fewer edits than the word is long).
 *
 * @example suggest('hsot', ['host', 'path']) // 'host'
 */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  const folded = fold(word);
  const sameWord = candidates.find((c) => fold(c) === folded);
  if (sameWord !== undefined) return sameWord;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(folded, fold(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const limit = Math.min(2, Math.max(1, Math.floor(folded.length / 3)));
  return bestDistance <= limit && bestDistance < folded.length ? best : undefined;
}
