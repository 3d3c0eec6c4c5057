// Causal attention with an online softmax (FlashAttention-2's recurrence, one query row at a
// time over key tiles of TILE): the forward keeps only out and lse (log-sum-exp of the scaled
// scores) per row; the backward recomputes each score tile from q, k and lse. Keys after the
// query's position are never touched, so no tile above the causal diagonal is computed, and the
// scratch is TILE + 2*headDim floats per thread — nothing grows with T².
//
// Work units: forward (batch, head, block of QB query rows), interleaved over threads; backward
// (batch, kv head): one thread owns every write to that kv head's dk/dv (and its query heads'
// dq), so the sums run in a fixed order whatever the thread count.
import { expv, dot, axpy, scale, zero } from './simd';

const TILE: i32 = 64;
const QB: i32 = 16;

/** Floats of per-thread scratch attention needs for head dimension hd. */
export function attentionScratchFloats(hd: i32): i32 { return TILE + 2 * hd + 8; }

/**
 * One query row against nKeys keys at kb, vb (row stride kvStride bytes): writes out[hd] and
 * returns lse. sc: TILE floats; acc: hd floats.
 */
function attendRow(outp: usize, q: usize, kb: usize, vb: usize, kvStride: usize, nKeys: i32, hd: i32, scl: f32,
  sc: usize, acc: usize): f32 {
  let m: f32 = -Infinity;
  let l: f32 = 0;
  zero(acc, hd);
  for (let j0 = 0; j0 < nKeys; j0 += TILE) {
    const jn = min(TILE, nKeys - j0);
    let tmax: f32 = -Infinity;
    for (let j = 0; j < jn; j++) {
      const s = dot(q, kb + <usize>(j0 + j) * kvStride, hd) * scl;
      store<f32>(sc + (<usize>j << 2), s);
      tmax = max(tmax, s);
    }
    if (tmax > m) {
      // rescale what was accumulated under the old maximum (nothing yet on the first tile)
      if (l > 0) {
        const alpha = Mathf.exp(m - tmax);
        l *= alpha;
        scale(acc, alpha, hd);
      }
      m = tmax;
    }
    const mv = f32x4.splat(m);
    for (let j = 0; j < jn; j += 4) {
      const p = sc + (<usize>j << 2);
      v128.store(p, expv(f32x4.sub(v128.load(p), mv)));
    }
    for (let j = 0; j < jn; j++) {
      const p = load<f32>(sc + (<usize>j << 2));
      l += p;
      axpy(acc, p, vb + <usize>(j0 + j) * kvStride, hd);
    }
  }
  const inv: f32 = <f32>1 / l;
  for (let i = 0; i < hd; i++) store<f32>(outp + (<usize>i << 2), load<f32>(acc + (<usize>i << 2)) * inv);
  return m + Mathf.log(l);
}

export function attention_forward(out: usize, lse: usize, q: usize, k: usize, v: usize,
  B: i32, T: i32, nH: i32, nKv: i32, hd: i32, scratch: usize, scratchStride: usize, tid: i32, nth: i32): void {
  const sc = scratch + <usize>tid * scratchStride;
  const acc = sc + <usize>(TILE << 2);
  const scl: f32 = <f32>1 / Mathf.sqrt(<f32>hd);
  const group = nH / nKv;
  const nqb = (T + QB - 1) / QB;
  const units = B * nH * nqb;
  const qRow = <usize>(nH * hd) << 2;
  const kvRow = <usize>(nKv * hd) << 2;
  for (let u = tid; u < units; u += nth) {
    // the last query blocks cost the most: walk them first so the interleave balances
    const qb = nqb - 1 - u % nqb;
    const bh = u / nqb;
    const h = bh % nH, b = bh / nH;
    const kvh = h / group;
    const kb = k + <usize>(b * T) * kvRow + (<usize>(kvh * hd) << 2);
    const vb = v + <usize>(b * T) * kvRow + (<usize>(kvh * hd) << 2);
    const i1 = min(T, (qb + 1) * QB);
    for (let i = qb * QB; i < i1; i++) {
      const off = <usize>(b * T + i) * qRow + (<usize>(h * hd) << 2);
      const L = attendRow(out + off, q + off, kb, vb, kvRow, i + 1, hd, scl, sc, acc);
      store<f32>(lse + (<usize>((b * nH + h) * T + i) << 2), L);
    }
  }
}

export function attention_backward(dq: usize, dk: usize, dv: usize, dout: usize, q: usize, k: usize, v: usize,
  out: usize, lse: usize, B: i32, T: i32, nH: i32, nKv: i32, hd: i32, scratch: usize, scratchStride: usize,
  tid: i32, nth: i32): void {
  const sc = scratch + <usize>tid * scratchStride; // TILE floats: the tile's probabilities
  const dqAcc = sc + <usize>(TILE << 2);
  const scl: f32 = <f32>1 / Mathf.sqrt(<f32>hd);
  const group = nH / nKv;
  const qRow = <usize>(nH * hd) << 2;
  const kvRow = <usize>(nKv * hd) << 2;
  const units = B * nKv;
  for (let u = tid; u < units; u += nth) {
    const b = u / nKv, kvh = u % nKv;
    const kvOff = <usize>(b * T) * kvRow + (<usize>(kvh * hd) << 2);
    const kb = k + kvOff, vb = v + kvOff, dkb = dk + kvOff, dvb = dv + kvOff;
    for (let h = kvh * group; h < (kvh + 1) * group; h++) {
      for (let i = 0; i < T; i++) {
        const off = <usize>(b * T + i) * qRow + (<usize>(h * hd) << 2);
        const qi = q + off, doi = dout + off;
        const D = dot(doi, out + off, hd); // rowsum(dout ∘ out)
        const L = load<f32>(lse + (<usize>((b * nH + h) * T + i) << 2));
        zero(dqAcc, hd);
        const nKeys = i + 1;
        for (let j0 = 0; j0 < nKeys; j0 += TILE) {
          const jn = min(TILE, nKeys - j0);
          for (let j = 0; j < jn; j++) store<f32>(sc + (<usize>j << 2), dot(qi, kb + <usize>(j0 + j) * kvRow, hd) * scl);
          const Lv = f32x4.splat(L);
          for (let j = 0; j < jn; j += 4) {
            const p = sc + (<usize>j << 2);
            v128.store(p, expv(f32x4.sub(v128.load(p), Lv)));
          }
          for (let j = 0; j < jn; j++) {
            const kj = kb + <usize>(j0 + j) * kvRow;
            const vj = vb + <usize>(j0 + j) * kvRow;
            const p = load<f32>(sc + (<usize>j << 2));
            const dp = dot(doi, vj, hd);
            const ds = p * (dp - D) * scl;
            axpy(dqAcc, ds, kj, hd);
            axpy(dkb + <usize>(j0 + j) * kvRow, ds, qi, hd);
            axpy(dvb + <usize>(j0 + j) * kvRow, p, doi, hd);
          }
        }
        const dqi = dq + off;
        for (let c = 0; c < hd; c++) {
          const o = <usize>(c << 2);
          store<f32>(dqi + o, load<f32>(dqi + o) + load<f32>(dqAcc + o));
        }
      }
    }
  }
}

/**
 * T new query rows over a KV cache [maxSeqLen, nKv, hd]; row t sees positions 0..pos0+t.
 * Units (t, head) interleaved over threads.
 */
export function attention_cached(out: usize, q: usize, kCache: usize, vCache: usize, T: i32, pos0: i32,
  nH: i32, nKv: i32, hd: i32, scratch: usize, scratchStride: usize, tid: i32, nth: i32): void {
  const sc = scratch + <usize>tid * scratchStride;
  const acc = sc + <usize>(TILE << 2);
  const scl: f32 = <f32>1 / Mathf.sqrt(<f32>hd);
  const group = nH / nKv;
  const kvRow = <usize>(nKv * hd) << 2;
  const units = T * nH;
  for (let u = tid; u < units; u += nth) {
    const t = u / nH, h = u % nH;
    const kvh = h / group;
    const off = (<usize>((t * nH + h) * hd)) << 2;
    const kvOff = <usize>(kvh * hd) << 2;
    attendRow(out + off, q + off, kCache + kvOff, vCache + kvOff, kvRow, pos0 + t + 1, hd, scl, sc, acc);
  }
}
