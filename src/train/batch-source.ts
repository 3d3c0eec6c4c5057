/**
 * What the trainer reads batches from: the pre-training mixture (mixture.ts) or instruction data
 * (sft.ts). Its position is JSON and goes into every checkpoint, so a resumed run reads exactly the
 * batches the uninterrupted run would have read.
 */
export interface BatchSource {
  readonly seqLen: number;
  /** Fills tokens[B*T] and targets[B*T] (-1 = no loss at that position). */
  nextBatch(B: number, tokens: Int32Array, targets: Int32Array): void;
  position: unknown;
  /** A short account for logs (sources, weights, epochs so far). */
  describe(): Record<string, unknown>;
}
