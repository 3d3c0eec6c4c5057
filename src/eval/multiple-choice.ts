/**
 * Multiple-choice scoring (PAPER.md §7): each choice is a continuation of the context; the
 * prediction is the highest score, where the score is
 *   'chars'         — log P(choice | context) / number of characters of the choice (the default);
 *   'unconditional' — log P(choice | context) - log P(choice | "Answer:")  (OpenBookQA, BoolQ);
 *   'raw'           — log P(choice | context)  (WinoGrande's partial scoring, where every option
 *                     scores the same suffix; CrowS-Pairs; TruthfulQA as its authors score it).
 * Ties go to the first choice.
 */
import type { LoglikelihoodResult } from './model.js';
import type { ItemPlan, TaskOptions } from './task.js';
import { Rng, seedFor } from './rng.js';

export type ChoiceRule = 'chars' | 'unconditional' | 'raw';

export const UNCONDITIONAL_CONTEXT = 'Answer:';

export interface McDoc {
  id: string;
  /** Shared context, or per-choice contexts (WinoGrande: the option fills the blank in the context). */
  context: string | string[];
  /** Continuations scored (one per choice). With per-choice contexts these may all be equal. */
  choices: string[];
  /** Gold choice index, or several acceptable indices. */
  gold: number | number[];
  /** Extra metric keys the item also counts towards, e.g. 'acc/middle' (each gets the same 0/1). */
  groups?: string[];
  /** Extra fields for the item log. */
  info?: Record<string, unknown>;
}

export function choiceScores(rule: ChoiceRule, doc: McDoc, ll: readonly LoglikelihoodResult[]): number[] {
  const n = doc.choices.length;
  return doc.choices.map((c, i) => {
    const lp = ll[i].logprob;
    if (rule === 'chars') return lp / Math.max(1, c.length);
    if (rule === 'unconditional') return lp - ll[n + i].logprob;
    return lp;
  });
}

export function argmax(xs: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

export function isGold(gold: number | number[], i: number): boolean {
  return Array.isArray(gold) ? gold.includes(i) : gold === i;
}

function contextOf(doc: McDoc, i: number): string {
  return Array.isArray(doc.context) ? doc.context[i] : doc.context;
}

/** A solved example for a few-shot prefix: the gold context followed by the gold continuation. */
export function solvedExample(doc: McDoc): string {
  const g = Array.isArray(doc.gold) ? doc.gold[0] : doc.gold;
  return contextOf(doc, g) + doc.choices[g];
}

/**
 * Few-shot prefix: `shots` examples from `pool` (never the item itself), drawn with a seed
 * derived from the run seed and the item id, joined by a blank line.
 */
export function fewShotPrefix(doc: { id: string }, pool: readonly McDoc[], opts: TaskOptions, format: (d: McDoc) => string = solvedExample): string {
  if (opts.shots <= 0) return '';
  const rng = new Rng(seedFor(opts.seed, doc.id));
  const candidates = pool.filter((d) => d.id !== doc.id);
  if (candidates.length < opts.shots) throw new Error(`only ${candidates.length} few-shot examples available, ${opts.shots} asked`);
  return rng.sample(candidates, opts.shots).map(format).join('\n\n') + '\n\n';
}

export function mcPlan(doc: McDoc, rule: ChoiceRule, prefix = ''): ItemPlan {
  const reqs = doc.choices.map((c, i) => ({ context: prefix + contextOf(doc, i), continuation: c }));
  if (rule === 'unconditional') for (const c of doc.choices) reqs.push({ context: UNCONDITIONAL_CONTEXT, continuation: c });
  return {
    id: doc.id,
    ll: reqs,
    score(ll) {
      const scores = choiceScores(rule, doc, ll);
      const pred = argmax(scores);
      const correct = isGold(doc.gold, pred) ? 1 : 0;
      const metrics: Record<string, number> = { acc: correct };
      if (rule !== 'raw') metrics.acc_unnormalized = isGold(doc.gold, argmax(ll.slice(0, doc.choices.length).map((r) => r.logprob))) ? 1 : 0;
      for (const g of doc.groups ?? []) metrics[g] = correct;
      return {
        metrics,
        log: {
          context: Array.isArray(doc.context) ? doc.context.map((c) => prefix + c) : prefix + doc.context, choices: doc.choices,
          logprobs: ll.map((r) => r.logprob), scores, pred, gold: doc.gold, correct, ...doc.info,
        },
      };
    },
  };
}
