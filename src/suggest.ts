/**
 * "Did you mean ...?" for element names, property names, variables and references.
 *
 * Distance is optimal-string-alignment Damerau-Levenshtein, so the commonest typo, two swapped
 * neighbours ("levle", "dest-fiel"), costs 1 like any single insert, delete or replace.
 */

/** Edit distance counting insertions, deletions, substitutions and adjacent transpositions. */
export function editDistance(a: string, b: string): number {
  // Three rolling rows: the transposition step looks two rows back.
  let prev2: number[] = [];
  let prev: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, prev2[j - 2] + 1);
      }
      cur.push(d);
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[b.length];
}

/**
 * How many edits still look like a typo rather than a different word: about one per three
 * characters, at least one, at most three.
 */
function typoBudget(word: string): number {
  return Math.min(3, Math.max(1, Math.floor(word.length / 3)));
}

/**
 * The candidate `word` was most likely meant to be, or undefined when none is close enough.
 * Case is ignored ("Level" suggests "level"); on a tie the earlier candidate wins, so callers
 * control precedence by order. A candidate is never suggested when every character had to
 * change ("x" does not suggest "y").
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const w = word.toLowerCase();
  const budget = typoBudget(w);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    // Lengths that differ by more than the budget cannot be within it; skip the matrix.
    if (Math.abs(candidate.length - w.length) > budget) continue;
    const d = editDistance(w, candidate.toLowerCase());
    if (d <= budget && d < w.length && d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}
