/**
 * AdamW with the paper's settings (PAPER.md §5: beta1 0.9, beta2 0.95, weight decay 0.1, gradient
 * clipping at global norm 1.0) over the model's parameter tensors, on the Backend's fused `adamw`
 * kernel. The moments live in one arena of the backend, in parameter order.
 *
 * Which tensors decay (decoupled decay, p -= lr * wd * p):
 *   - every linear-layer matrix (wq, wk, wv, wo, w1, w2, w3) and the output projection: yes;
 *   - RMSNorm gains (attention_norm, ffn_norm, norm): no — they are scales initialised at 1, and
 *     pulling them towards 0 would shrink every activation rather than regularise a mapping;
 *   - the token embedding: no (default; `decayEmbeddings` turns it on). Decay acts on every row at
 *     every step, but a row only receives gradient when its token occurs in the batch, so rare
 *     tokens' embeddings would be shrunk towards zero by decay alone. The output projection has no
 *     such problem: every row gets gradient through the softmax at every step.
 */
import type { Backend, F32 } from '../kernels/backend.js';
import { numel } from '../model/config.js';

export interface TrainableTensor {
  name: string;
  shape: readonly number[];
  param: F32;
  grad: F32;
}

export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Global gradient-norm clip threshold (1.0 in the paper); 0 disables clipping. */
  clipNorm: number;
  decayEmbeddings: boolean;
}

export const PAPER_ADAMW: AdamWConfig = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, clipNorm: 1.0, decayEmbeddings: false };

/** Whether weight decay applies to the tensor of this Meta name (see the header comment). */
export function decays(name: string, cfg: Pick<AdamWConfig, 'decayEmbeddings'>): boolean {
  if (name.endsWith('norm.weight')) return false; // attention_norm, ffn_norm, norm
  if (name === 'tok_embeddings.weight') return cfg.decayEmbeddings;
  return true;
}

export interface StepStats {
  /** Global L2 norm of the (accumulation-averaged) gradient before clipping. */
  gradNorm: number;
  /** Factor the gradient was multiplied by: min(1, clip / (norm + 1e-6)) as torch's clip_grad_norm_. */
  clipScale: number;
}

export class AdamW {
  readonly m: F32[] = [];
  readonly v: F32[] = [];
  /** Optimizer steps taken so far (the bias correction uses step + 1 for the next one). */
  step = 0;

  constructor(readonly backend: Backend, readonly tensors: readonly TrainableTensor[], readonly cfg: AdamWConfig) {
    if (!(cfg.beta1 >= 0 && cfg.beta1 < 1) || !(cfg.beta2 >= 0 && cfg.beta2 < 1)) throw new Error(`AdamW betas must be in [0, 1): ${cfg.beta1}, ${cfg.beta2}`);
    if (!(cfg.eps > 0) || !(cfg.weightDecay >= 0) || !(cfg.clipNorm >= 0)) throw new Error(`AdamW: eps must be > 0, weightDecay and clipNorm >= 0 (${JSON.stringify(cfg)})`);
    const bytes = tensors.reduce((s, t) => s + Math.ceil((numel(t.shape) * 4) / 64) * 64, 0);
    const arena = backend.createArena(2 * bytes + 64, 'adamw-moments');
    for (const t of tensors) {
      if (t.param.length !== numel(t.shape) || t.grad.length !== numel(t.shape)) {
        throw new Error(`AdamW: tensor ${t.name} has ${t.param.length} params / ${t.grad.length} grads for shape [${t.shape.join(', ')}]`);
      }
      this.m.push(arena.f32(`m.${t.name}`, t.shape));
    }
    for (const t of tensors) this.v.push(arena.f32(`v.${t.name}`, t.shape));
  }

  /** Bytes of optimizer state (two moments per parameter). */
  get stateBytes(): number { return this.tensors.reduce((s, t) => s + 8 * t.param.length, 0); }

  /** Global L2 norm of the gradients times `scale` (sum of squares in float64 per tensor). */
  gradNorm(scale = 1): number {
    let ss = 0;
    for (const t of this.tensors) ss += this.backend.sumSquares(t.grad, t.grad.length);
    return Math.sqrt(ss) * scale;
  }

  /**
   * One update with learning rate `lr`. `gradDivisor` is the number of accumulated micro-batches
   * whose gradients were summed: the gradient used is their mean, clipped to the global norm.
   * Returns the norm before clipping (NaN/Inf when the gradient is not finite — then nothing is changed).
   */
  update(lr: number, gradDivisor = 1): StepStats {
    const gradNorm = this.gradNorm(1 / gradDivisor);
    if (!Number.isFinite(gradNorm)) return { gradNorm, clipScale: NaN };
    const clipScale = this.cfg.clipNorm > 0 ? Math.min(1, this.cfg.clipNorm / (gradNorm + 1e-6)) : 1;
    const step = this.step + 1;
    for (let i = 0; i < this.tensors.length; i++) {
      const t = this.tensors[i];
      this.backend.adamw(t.param, t.grad, this.m[i], this.v[i], t.param.length, {
        lr,
        beta1: this.cfg.beta1,
        beta2: this.cfg.beta2,
        eps: this.cfg.eps,
        weightDecay: decays(t.name, this.cfg) ? this.cfg.weightDecay : 0,
        step,
        gradScale: clipScale / gradDivisor,
      });
    }
    this.step = step;
    return { gradNorm, clipScale };
  }

  zeroGrad(): void {
    for (const t of this.tensors) t.grad.fill(0);
  }
}
