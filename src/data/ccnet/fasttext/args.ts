/**
 * fastText's training arguments, in the order and encoding of its .bin header (src/args.cc `save`):
 * twelve int32 fields then the sampling threshold `t` as a double.
 */

/** fastText's loss_name enum. */
export const Loss = { hs: 1, ns: 2, softmax: 3, ova: 4 } as const;
export type LossName = keyof typeof Loss;
/** fastText's model_name enum (supervised classifiers are `sup`). */
export const ModelKind = { cbow: 1, sg: 2, sup: 3 } as const;

export interface FastTextArgs {
  dim: number;
  ws: number;
  epoch: number;
  minCount: number;
  neg: number;
  wordNgrams: number;
  loss: number;
  model: number;
  bucket: number;
  minn: number;
  maxn: number;
  lrUpdateRate: number;
  t: number;
}

export const ARGS_INT_FIELDS = [
  'dim', 'ws', 'epoch', 'minCount', 'neg', 'wordNgrams', 'loss', 'model', 'bucket', 'minn', 'maxn', 'lrUpdateRate',
] as const;

export function lossName(code: number): LossName {
  for (const [k, v] of Object.entries(Loss)) if (v === code) return k as LossName;
  throw new Error(`unknown fastText loss code ${code} (expected 1=hs, 2=ns, 3=softmax, 4=ova)`);
}
