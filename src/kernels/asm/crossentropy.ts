// Cross-entropy fused with the output projection: the per-chunk steps between the gemm calls.
// The backend (src/kernels/wasm.ts) walks the vocabulary in chunks of a fixed width; for each
// chunk the packed gemm writes logits[rows, vn] = x · W[v0.., :]^T into a scratch block (never the
// whole N×V matrix), and these kernels consume it —
//   forward:  cross_entropy_chunk_stats folds the chunk into each row's online log-sum-exp
//             (running max, rescaled sum) and picks up the target logit; cross_entropy_finish turns
//             the row stats into lse and losses;
//   backward: cross_entropy_chunk_dlogits turns the recomputed logits into
//             g = (softmax - onehot(target)) * dloss in place, then the gemm adds dx += g · W_chunk
//             and dW_chunk += g^T · x.
// Every row's stats see the chunks in vocabulary order and every gemm output element is reduced in
// a fixed order, so results do not depend on the thread count.
import { expv, exps, claim, split, partStart, partEnd } from './simd';

const ROWS_PER_CLAIM: i32 = 32;

/**
 * Row stats for rows [0, rn): stats[r] = running max, stats[R + r] = running sum of exp(l - max),
 * stats[2R + r] = target logit (R = the stats stride). logits[r, j] = logits[r*ld + j] holds the
 * vocabulary columns v0..v0+vn of those rows. The first chunk (v0 == 0) starts the stats.
 */
export function cross_entropy_chunk_stats(logits: usize, ld: i32, vn: i32, v0: i32, stats: usize, R: i32, targets: usize,
  rn: i32, counter: usize, tid: i32, nth: i32): void {
  const mrow = stats, srow = stats + (<usize>R << 2), trow = stats + (<usize>(2 * R) << 2);
  const nb = (rn + ROWS_PER_CLAIM - 1) / ROWS_PER_CLAIM;
  for (let b = claim(counter); b < nb; b = claim(counter)) {
    const r1 = min(rn, (b + 1) * ROWS_PER_CLAIM);
    for (let r = b * ROWS_PER_CLAIM; r < r1; r++) {
      const row = logits + (<usize>r * <usize>ld << 2);
      const ro = <usize>r << 2;
      // chunk maximum, four lanes then the tail
      let mv = f32x4.splat(-Infinity);
      let j = 0;
      for (; j + 4 <= vn; j += 4) mv = f32x4.pmax(mv, v128.load(row + (<usize>j << 2))); // NaN: the exp sum below carries it
      let tmax = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
      for (; j < vn; j++) tmax = max(tmax, load<f32>(row + (<usize>j << 2)));
      let m: f32 = v0 == 0 ? -Infinity : load<f32>(mrow + ro);
      let s: f32 = v0 == 0 ? 0 : load<f32>(srow + ro);
      if (v0 == 0) store<f32>(trow + ro, 0);
      if (tmax > m) { s *= exps(m - tmax); m = tmax; }
      const mm = f32x4.splat(m);
      let acc = f32x4.splat(0);
      j = 0;
      for (; j + 4 <= vn; j += 4) acc = f32x4.add(acc, expv(f32x4.sub(v128.load(row + (<usize>j << 2)), mm)));
      s += (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 2)) + (f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 3));
      for (; j < vn; j++) s += exps(load<f32>(row + (<usize>j << 2)) - m);
      store<f32>(mrow + ro, m);
      store<f32>(srow + ro, s);
      const t = load<i32>(targets + ro);
      if (t >= v0 && t < v0 + vn) store<f32>(trow + ro, load<f32>(row + (<usize>(t - v0) << 2)));
    }
  }
}

/** lse[r] = max + log(sum); losses[r] = lse - target logit (0 where target = -1), for rows [0, rn). */
export function cross_entropy_finish(losses: usize, lse: usize, stats: usize, R: i32, targets: usize, rn: i32,
  tid: i32, nth: i32): void {
  split(rn, 16, tid, nth);
  const r0 = partStart, r1 = partEnd;
  for (let r = r0; r < r1; r++) {
    const ro = <usize>r << 2;
    const L = load<f32>(stats + ro) + Mathf.log(load<f32>(stats + (<usize>R << 2) + ro));
    store<f32>(lse + ro, L);
    const t = load<i32>(targets + ro);
    store<f32>(losses + ro, t < 0 ? 0 : L - load<f32>(stats + (<usize>(2 * R) << 2) + ro));
  }
}

/**
 * In place: logits[r, j] -> (exp(logits[r, j] - lse[r]) - [v0 + j == target]) * dloss[r] for rows
 * [0, rn) of a chunk of width vn; rows whose target is -1 become zero.
 */
export function cross_entropy_chunk_dlogits(logits: usize, ld: i32, vn: i32, v0: i32, dlosses: usize, targets: usize, lse: usize,
  rn: i32, counter: usize, tid: i32, nth: i32): void {
  const nb = (rn + ROWS_PER_CLAIM - 1) / ROWS_PER_CLAIM;
  for (let b = claim(counter); b < nb; b = claim(counter)) {
    const r1 = min(rn, (b + 1) * ROWS_PER_CLAIM);
    for (let r = b * ROWS_PER_CLAIM; r < r1; r++) {
      const row = logits + (<usize>r * <usize>ld << 2);
      const ro = <usize>r << 2;
      const t = load<i32>(targets + ro);
      if (t < 0) { memory.fill(row, 0, <usize>vn << 2); continue; }
      const g = load<f32>(dlosses + ro);
      const Ls = load<f32>(lse + ro);
      const L = f32x4.splat(Ls), gv = f32x4.splat(g);
      let j = 0;
      for (; j + 4 <= vn; j += 4) {
        const p = row + (<usize>j << 2);
        v128.store(p, f32x4.mul(expv(f32x4.sub(v128.load(p), L)), gv));
      }
      for (; j < vn; j++) {
        const p = row + (<usize>j << 2);
        store<f32>(p, exps(load<f32>(p) - Ls) * g);
      }
      if (t >= v0 && t < v0 + vn) {
        const p = row + (<usize>(t - v0) << 2);
        store<f32>(p, load<f32>(p) - g);
      }
    }
  }
}
