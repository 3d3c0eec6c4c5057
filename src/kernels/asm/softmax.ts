// Log-softmax of whole rows (inference's next-token distributions): out[r, :] = x[r, :] - lse(x[r, :]).
// Rows are split across threads; within a row the max, the sum of exponentials (four f32 lanes,
// folded into an f64 per 1024 columns so a 32000-wide row keeps ~1e-7 relative precision) and
// the subtraction are vectorized. out may alias inp.
import { expv, split, partStart, partEnd } from './simd';

const FOLD: i32 = 1024;

export function log_softmax(out: usize, inp: usize, rows: i32, V: i32, tid: i32, nth: i32): void {
  split(rows, 1, tid, nth);
  for (let r = partStart; r < partEnd; r++) {
    const x = inp + ((<usize>r * <usize>V) << 2);
    const o = out + ((<usize>r * <usize>V) << 2);
    let mv = f32x4.splat(-Infinity);
    let j = 0;
    for (; j + 4 <= V; j += 4) mv = f32x4.pmax(mv, v128.load(x + (<usize>j << 2)));
    let m = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
    for (; j < V; j++) m = max(m, load<f32>(x + (<usize>j << 2)));
    const mm = f32x4.splat(m);
    let sum: f64 = 0;
    j = 0;
    while (j + 4 <= V) {
      const end = min(V, j + FOLD) & ~3;
      let acc = f32x4.splat(0);
      for (; j < end; j += 4) acc = f32x4.add(acc, expv(f32x4.sub(v128.load(x + (<usize>j << 2)), mm)));
      sum += <f64>f32x4.extract_lane(acc, 0) + <f64>f32x4.extract_lane(acc, 1) + <f64>f32x4.extract_lane(acc, 2) + <f64>f32x4.extract_lane(acc, 3);
    }
    for (; j < V; j++) sum += <f64>f32x4.extract_lane(expv(f32x4.splat(load<f32>(x + (<usize>j << 2)) - m)), 0);
    // a NaN or infinite max makes lse non-finite: the caller checks the first output of each row
    const lse = <f32>(<f64>m + Math.log(sum));
    const lv = f32x4.splat(lse);
    j = 0;
    for (; j + 4 <= V; j += 4) v128.store(o + (<usize>j << 2), f32x4.sub(v128.load(x + (<usize>j << 2)), lv));
    for (; j < V; j++) store<f32>(o + (<usize>j << 2), load<f32>(x + (<usize>j << 2)) - lse);
  }
}
