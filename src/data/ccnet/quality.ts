/**
 * The LLaMA paper's CommonCrawl quality filter (§2, "we trained a linear model to classify pages
 * used as references in Wikipedia v.s. randomly sampled pages, and discarded pages not classified
 * as references"): a fastText-style linear classifier over CCNet-normalized text, two labels,
 * and a threshold on the probability of the "reference" label.
 *
 * Training data is any two lists of texts (positives: pages cited by Wikipedia; negatives: random
 * crawl pages); `toTrainingText` writes them in fastText's format, so Debian's `fasttext supervised`
 * can train the same model, and `ReferenceClassifier` loads either.
 */
import { FastTextClassifier } from './fasttext/classifier.js';
import type { TrainOptions } from './fasttext/train.js';
import { trainSupervised } from './fasttext/train.js';
import { normalizeForLm } from './normalize.js';
import { shuffled } from './udhr-corpus.js';

export const REFERENCE_LABEL = '__label__wiki';
export const RANDOM_LABEL = '__label__cc';

/** One classifier input line: CCNet-normalized, lines joined by spaces. */
export function classifierText(text: string): string {
  let out = '';
  let start = 0;
  for (;;) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const l = normalizeForLm(text.slice(start, end));
    if (l.length > 0) out = out.length > 0 ? out + ' ' + l : l;
    if (end === text.length) return out;
    start = end + 1;
  }
}

export function toTrainingText(positives: readonly string[], negatives: readonly string[], seed = 1): string {
  const rows = [
    ...positives.map((t) => `${REFERENCE_LABEL} ${classifierText(t)}`),
    ...negatives.map((t) => `${RANDOM_LABEL} ${classifierText(t)}`),
  ];
  return shuffled(rows, seed).join('\n') + '\n';
}

export class ReferenceClassifier {
  constructor(readonly classifier: FastTextClassifier, readonly positiveLabel = REFERENCE_LABEL) {
    if (!classifier.labels.includes(positiveLabel)) {
      throw new Error(`quality model has no label "${positiveLabel}" (its labels: ${classifier.labels.join(', ')})`);
    }
  }

  static load(path: string, positiveLabel = REFERENCE_LABEL): ReferenceClassifier {
    return new ReferenceClassifier(FastTextClassifier.load(path), positiveLabel);
  }

  static train(positives: readonly string[], negatives: readonly string[], options: TrainOptions = {}): ReferenceClassifier {
    if (positives.length === 0 || negatives.length === 0) throw new Error(`need both positive (${positives.length}) and negative (${negatives.length}) training pages`);
    // Defaults suit a few thousand pages; tiny sets need more epochs (the test uses lr 2, 10 epochs).
    const m = trainSupervised(toTrainingText(positives, negatives, options.seed ?? 1), { dim: 16, epoch: 25, lr: 0.5, wordNgrams: 2, bucket: 200000, minCount: 1, ...options });
    return new ReferenceClassifier(m.classifier);
  }

  /** Probability that the page is reference-like (0 for a page with no known token). */
  score(text: string): number {
    const preds = this.classifier.predict(classifierText(text), -1);
    return preds.find((p) => p.label === this.positiveLabel)?.prob ?? 0;
  }
}
