/** "Did you mean" hints: the known words nearest to a misspelt one. */

/**
 * Optimal string alignment distance, ignoring case: insertions, deletions, substitutions and
 * swaps of two neighbouring characters each count as one edit, so `nmae` is one edit from `name`.
 */
export function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  // Rows i-2, i-1 and i of the dynamic-programming table.
  let before: number[] = [];
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) row[j] = Math.min(row[j], before[j - 2] + 1);
    }
    before = previous;
    previous = row;
  }
  return previous[y.length];
}

/** The known word nearest to `word`, if it is at most `maxDistance` edits away. */
export function closest(word: string, known: readonly string[], maxDistance: number): string | undefined {
  let best: { word: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(word, candidate);
    if (distance <= maxDistance && (!best || distance < best.distance)) best = { word: candidate, distance };
  }
  return best?.word;
}

/** The shortest word a prefix match counts for: `cpu` finds `cpus` and `cpuLimit`, `p` finds nothing. */
const MIN_PREFIX = 3;

/**
 * The keys allowed at a place that a misspelt `key` most likely meant, best first:
 * 1. those one edit away (a typo, a swap, another case): `nmae` → `name`;
 * 2. else those it begins: `prio` → `priority`, `memory` → `memoryGiB`, `memoryLimitGiB`;
 * 3. else those it starts with: `portNumber` → `port`;
 * 4. else the nearest within a quarter of its length in edits (at least 2).
 */
export function suggestKeys(key: string, allowed: readonly string[]): string[] {
  const lower = key.toLowerCase();
  const distances = allowed.map((k) => [k, editDistance(key, k)] as const);
  const nearest = (max: number) => {
    const best = Math.min(...distances.map(([, d]) => d));
    return best <= max ? distances.filter(([, d]) => d === best).map(([k]) => k) : [];
  };
  const tiers = [
    () => nearest(1),
    () => (lower.length >= MIN_PREFIX ? allowed.filter((k) => k.toLowerCase().startsWith(lower)) : []),
    () => allowed.filter((k) => k.length >= MIN_PREFIX && lower.startsWith(k.toLowerCase())),
    () => nearest(Math.max(2, Math.floor(key.length / 4))),
  ];
  for (const tier of tiers) {
    const found = tier();
    if (found.length > 0) return found;
  }
  return [];
}
