// Cross-entropy fused with the output projection. The logits x·W^T (N×V) are never stored:
// they are produced VC vocabulary columns at a time for a block of up to RB rows (a RB×VC tile
// in scratch) by the gemm, and consumed at once —
//   forward: an online log-sum-exp per row (running max and rescaled sum) and the target logit;
//   backward: dlogits = (softmax - onehot(target)) * dloss recomputed tile by tile, then
//     dW[chunk] += dlogits^T · x   (vocabulary chunks claimed by threads: each dW row has one owner)
//     dx[rows]  += dlogits · W[chunk]  (row blocks claimed by threads, chunks summed in order)
//   The logits are recomputed once for each half (four N×C×V products instead of three) so every
//   gradient element has exactly one writer and a fixed summation order: deterministic and
//   identical across thread counts.
import { expv, claim } from './simd';
import { gemmRange, GEMM_SCRATCH, B_NT_F32, B_NN } from './gemm';

const RB: i32 = 256;
const VC: i32 = 256;

/** Bytes of per-thread scratch the cross-entropy kernels need. */
export function crossEntropyScratch(): i32 { return GEMM_SCRATCH + RB * VC * 4 + RB * 4 * 3; }

/** tile[rn × vn] (row stride VC) = x[r0.., :] · W[v0.., :]^T */
function logitsTile(tile: usize, x: usize, w: usize, r0: i32, rn: i32, v0: i32, vn: i32, C: i32, gs: usize): void {
  gemmRange(tile, VC, x + (<usize>r0 * <usize>C << 2), C, 1, w + (<usize>v0 * <usize>C << 2), B_NT_F32, C, C,
    false, gs, 0, rn, 0, vn);
}

export function cross_entropy_forward(losses: usize, lse: usize, x: usize, w: usize, targets: usize,
  N: i32, C: i32, V: i32, scratch: usize, scratchStride: usize, counter: usize, tid: i32, nth: i32): void {
  const gs = scratch + <usize>tid * scratchStride;
  const tile = gs + <usize>GEMM_SCRATCH;
  const mrow = tile + <usize>(RB * VC * 4);
  const srow = mrow + <usize>(RB * 4);
  const trow = srow + <usize>(RB * 4);
  const nsb = (N + RB - 1) / RB;
  for (let sb = claim(counter); sb < nsb; sb = claim(counter)) {
    const r0 = sb * RB, rn = min(RB, N - r0);
    for (let r = 0; r < rn; r++) {
      store<f32>(mrow + (<usize>r << 2), -Infinity);
      store<f32>(srow + (<usize>r << 2), 0);
      store<f32>(trow + (<usize>r << 2), 0);
    }
    for (let v0 = 0; v0 < V; v0 += VC) {
      const vn = min(VC, V - v0);
      logitsTile(tile, x, w, r0, rn, v0, vn, C, gs);
      for (let r = 0; r < rn; r++) {
        const row = tile + <usize>(r * VC * 4);
        let tmax: f32 = -Infinity;
        for (let j = 0; j < vn; j++) tmax = max(tmax, load<f32>(row + (<usize>j << 2)));
        let m = load<f32>(mrow + (<usize>r << 2));
        let s = load<f32>(srow + (<usize>r << 2));
        if (tmax > m) { s *= Mathf.exp(m - tmax); m = tmax; }
        const mv = f32x4.splat(m);
        let acc = f32x4.splat(0);
        let j = 0;
        for (; j + 4 <= vn; j += 4) acc = f32x4.add(acc, expv(f32x4.sub(v128.load(row + (<usize>j << 2)), mv)));
        s += f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
        for (; j < vn; j++) s += Mathf.exp(load<f32>(row + (<usize>j << 2)) - m);
        store<f32>(mrow + (<usize>r << 2), m);
        store<f32>(srow + (<usize>r << 2), s);
        const t = load<i32>(targets + (<usize>(r0 + r) << 2));
        if (t >= v0 && t < v0 + vn) store<f32>(trow + (<usize>r << 2), load<f32>(row + (<usize>(t - v0) << 2)));
      }
    }
    for (let r = 0; r < rn; r++) {
      const L = load<f32>(mrow + (<usize>r << 2)) + Mathf.log(load<f32>(srow + (<usize>r << 2)));
      store<f32>(lse + (<usize>(r0 + r) << 2), L);
      const t = load<i32>(targets + (<usize>(r0 + r) << 2));
      store<f32>(losses + (<usize>(r0 + r) << 2), t < 0 ? 0 : L - load<f32>(trow + (<usize>r << 2)));
    }
  }
}

/** Turns a logits tile into dlogits in place: (exp(l - lse) - [j == target]) * dloss; zero rows for target -1. */
function dlogitsTile(tile: usize, dlosses: usize, targets: usize, lse: usize, r0: i32, rn: i32, v0: i32, vn: i32): void {
  for (let r = 0; r < rn; r++) {
    const row = tile + <usize>(r * VC * 4);
    const t = load<i32>(targets + (<usize>(r0 + r) << 2));
    const g: f32 = t < 0 ? 0 : load<f32>(dlosses + (<usize>(r0 + r) << 2));
    const L = f32x4.splat(load<f32>(lse + (<usize>(r0 + r) << 2)));
    const gv = f32x4.splat(g);
    for (let j = 0; j < vn; j += 4) { // the tile has VC >= vn rounded up to 4 columns of room
      const p = row + (<usize>j << 2);
      v128.store(p, f32x4.mul(expv(f32x4.sub(v128.load(p), L)), gv));
    }
    if (t >= v0 && t < v0 + vn) {
      const p = row + (<usize>(t - v0) << 2);
      store<f32>(p, load<f32>(p) - g);
    }
  }
}

export function cross_entropy_backward(dx: usize, dw: usize, dlosses: usize, x: usize, w: usize, targets: usize,
  lse: usize, N: i32, C: i32, V: i32, scratch: usize, scratchStride: usize, counter: usize, tid: i32, nth: i32): void {
  const gs = scratch + <usize>tid * scratchStride;
  const tile = gs + <usize>GEMM_SCRATCH;
  const nsb = (N + RB - 1) / RB;
  const nvc = (V + VC - 1) / VC;
  // dW: vocabulary chunks claimed from the first counter, row blocks in order.
  for (let vc = claim(counter); vc < nvc; vc = claim(counter)) {
    const v0 = vc * VC, vn = min(VC, V - v0);
    for (let sb = 0; sb < nsb; sb++) {
      const r0 = sb * RB, rn = min(RB, N - r0);
      logitsTile(tile, x, w, r0, rn, v0, vn, C, gs);
      dlogitsTile(tile, dlosses, targets, lse, r0, rn, v0, vn);
      // dW[v0+i, c] += Σ_r tile[r, i] x[r0+r, c]:  A = tile^T (A[i,r] = tile[r*VC + i]), B = x rows
      gemmRange(dw + (<usize>v0 * <usize>C << 2), C, tile, 1, VC, x + (<usize>r0 * <usize>C << 2), B_NN, C, rn,
        true, gs, 0, vn, 0, C);
    }
  }
  // dx: row blocks claimed from the second counter (its own cache line), vocabulary chunks in order.
  const counter2 = counter + 64;
  for (let sb = claim(counter2); sb < nsb; sb = claim(counter2)) {
    const r0 = sb * RB, rn = min(RB, N - r0);
    for (let vc = 0; vc < nvc; vc++) {
      const v0 = vc * VC, vn = min(VC, V - v0);
      logitsTile(tile, x, w, r0, rn, v0, vn, C, gs);
      dlogitsTile(tile, dlosses, targets, lse, r0, rn, v0, vn);
      // dx[r0+r, c] += Σ_i tile[r, i] W[v0+i, c]
      gemmRange(dx + (<usize>r0 * <usize>C << 2), C, tile, VC, 1, w + (<usize>v0 * <usize>C << 2), B_NN, C, vn,
        true, gs, 0, rn, 0, C);
    }
  }
}

