/**
 * Document language identification with a fastText model (CCNet uses lid.176.bin; any .bin/.ftz
 * classifier whose labels are "__label__<lang>" works, including ones trained by ./fasttext/train).
 * As CCNet does, the document is classified as one line (newlines → spaces) and the top label
 * with its probability is kept.
 */
import { FastTextClassifier } from './fasttext/classifier.js';

export interface LanguageGuess {
  language: string;
  score: number;
}

export class LanguageIdentifier {
  readonly classifier: FastTextClassifier;
  private readonly prefix: string;

  constructor(classifier: FastTextClassifier, labelPrefix = '__label__') {
    this.classifier = classifier;
    this.prefix = labelPrefix;
  }

  static load(path: string): LanguageIdentifier {
    return new LanguageIdentifier(FastTextClassifier.load(path));
  }

  /** Top languages of a text (k = -1: all), or [] when it has no usable token. */
  predict(text: string, k = 1): LanguageGuess[] {
    // CCNet classifies the page as one line (newlines → spaces). fastText's tokenizer splits on
    // "\n" and "\r" like on spaces, and `predict` adds the single end-of-line token itself, so the
    // text can go in unchanged.
    return this.classifier.predict(text, k).map((p) => ({
      language: p.label.startsWith(this.prefix) ? p.label.slice(this.prefix.length) : p.label,
      score: p.prob,
    }));
  }

  identify(text: string): LanguageGuess | null {
    return this.predict(text, 1)[0] ?? null;
  }
}
