/**
 * PAPER.md Table 1: the pre-training data mixture. `proportion` is the sampling proportion and
 * `epochs` the number of passes over the source when training on 1.4T tokens; `diskGB` the size.
 */
export interface MixtureSource { name: string; proportion: number; epochs: number; diskGB: number }

export const TABLE1: readonly MixtureSource[] = [
  { name: 'commoncrawl', proportion: 0.67, epochs: 1.1, diskGB: 3300 },
  { name: 'c4', proportion: 0.15, epochs: 1.06, diskGB: 783 },
  { name: 'github', proportion: 0.045, epochs: 0.64, diskGB: 328 },
  { name: 'wikipedia', proportion: 0.045, epochs: 2.45, diskGB: 83 },
  { name: 'books', proportion: 0.045, epochs: 2.23, diskGB: 85 },
  { name: 'arxiv', proportion: 0.025, epochs: 1.06, diskGB: 92 },
  { name: 'stackexchange', proportion: 0.02, epochs: 1.03, diskGB: 78 },
];

export function table1Proportion(name: string): number | undefined {
  return TABLE1.find((s) => s.name === name)?.proportion;
}

export function table1Epochs(name: string): number | undefined {
  return TABLE1.find((s) => s.name === name)?.epochs;
}
