// Causal attention with an online softmax (FlashAttention-2's recurrence): query rows are
// processed in blocks of 4 (each key/value row loaded once serves four queries) against key tiles
// of TILE. The forward keeps only out and lse (log-sum-exp of the scaled scores) per row; the
// backward recomputes each score tile from q, k and lse. Keys after a query's position are never
// read (tiles stop at the block's last row; the few entries above the diagonal inside that tile
// are masked to probability exactly 0), and the scratch is a few tiles plus 4 rows of head size
// per thread — nothing grows with T².
//
// Every row's arithmetic is independent of which block or thread handles it, so results do not
// depend on the thread count. Work units, claimed by the threads from a shared counter: forward
// (batch, head, block of QB query rows); backward (batch, kv head): the thread that claims it does
// every write to that kv head's dk/dv and its query heads' dq, summing rows in ascending order.
import { fma, expv, hsum, zero, claim } from './simd';

const TILE: i32 = 64;
const QB: i32 = 16; // query rows per forward work unit (a multiple of 4)

/** Bytes of per-thread scratch attention needs for head dimension hd. */
export function attentionScratchBytes(hd: i32): i32 { return (2 * 4 * TILE + 12 * hd + 16) * 4; }

/**
 * S[r*TILE + j] = scale * dot(a_r, b_j) for the 4 rows a_r (stride aStride bytes) and jn rows b_j
 * (stride bStride bytes): each b_j chunk is loaded once for four rows.
 */
function dots4(S: usize, a: usize, aStride: usize, b: usize, bStride: usize, jn: i32, hd: i32, scl: f32): void {
  const a0 = a, a1 = a + aStride, a2 = a1 + aStride, a3 = a2 + aStride;
  for (let j = 0; j < jn; j++) {
    const bj = b + <usize>j * bStride;
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    let c = 0;
    for (; c + 4 <= hd; c += 4) {
      const o = <usize>(c << 2);
      const bv = v128.load(bj + o);
      s0 = fma(v128.load(a0 + o), bv, s0);
      s1 = fma(v128.load(a1 + o), bv, s1);
      s2 = fma(v128.load(a2 + o), bv, s2);
      s3 = fma(v128.load(a3 + o), bv, s3);
    }
    let d0 = hsum(s0), d1 = hsum(s1), d2 = hsum(s2), d3 = hsum(s3);
    for (; c < hd; c++) {
      const o = <usize>(c << 2);
      const bs = load<f32>(bj + o);
      d0 += load<f32>(a0 + o) * bs; d1 += load<f32>(a1 + o) * bs;
      d2 += load<f32>(a2 + o) * bs; d3 += load<f32>(a3 + o) * bs;
    }
    const sj = S + (<usize>j << 2);
    store<f32>(sj, d0 * scl);
    store<f32>(sj, d1 * scl, TILE * 4);
    store<f32>(sj, d2 * scl, TILE * 8);
    store<f32>(sj, d3 * scl, TILE * 12);
  }
}

/**
 * acc_r[0..hd) += Σ_j P[r*TILE + j] * b_j for 4 accumulator rows (contiguous, hd floats each):
 * each b_j chunk is loaded once for four rows.
 */
function axpy4(acc: usize, P: usize, b: usize, bStride: usize, jn: i32, hd: i32): void {
  const hb = <usize>hd << 2;
  let c = 0;
  for (; c + 4 <= hd; c += 4) {
    const o = <usize>(c << 2);
    let r0 = v128.load(acc + o), r1 = v128.load(acc + hb + o), r2 = v128.load(acc + 2 * hb + o), r3 = v128.load(acc + 3 * hb + o);
    for (let j = 0; j < jn; j++) {
      const bv = v128.load(b + <usize>j * bStride + o);
      const pj = P + (<usize>j << 2);
      r0 = fma(v128.load32_splat(pj), bv, r0);
      r1 = fma(v128.load32_splat(pj, TILE * 4), bv, r1);
      r2 = fma(v128.load32_splat(pj, TILE * 8), bv, r2);
      r3 = fma(v128.load32_splat(pj, TILE * 12), bv, r3);
    }
    v128.store(acc + o, r0); v128.store(acc + hb + o, r1); v128.store(acc + 2 * hb + o, r2); v128.store(acc + 3 * hb + o, r3);
  }
  for (; c < hd; c++) {
    const o = <usize>(c << 2);
    for (let r = 0; r < 4; r++) {
      let s = load<f32>(acc + <usize>r * hb + o);
      for (let j = 0; j < jn; j++) s += load<f32>(P + <usize>((r * TILE + j) << 2)) * load<f32>(b + <usize>j * bStride + o);
      store<f32>(acc + <usize>r * hb + o, s);
    }
  }
}

/**
 * dst_j[0..hd) += Σ_r W[r*TILE + j] * a_r for jn destination rows (stride dStride bytes) and the
 * 4 rows a_r (stride aStride): rows summed in ascending r.
 */
function rank4Update(dst: usize, dStride: usize, W: usize, a: usize, aStride: usize, jn: i32, hd: i32): void {
  const a0 = a, a1 = a + aStride, a2 = a1 + aStride, a3 = a2 + aStride;
  for (let j = 0; j < jn; j++) {
    const dj = dst + <usize>j * dStride;
    const wj = W + (<usize>j << 2);
    const w0 = v128.load32_splat(wj), w1 = v128.load32_splat(wj, TILE * 4);
    const w2 = v128.load32_splat(wj, TILE * 8), w3 = v128.load32_splat(wj, TILE * 12);
    let c = 0;
    for (; c + 4 <= hd; c += 4) {
      const o = <usize>(c << 2);
      let d = v128.load(dj + o);
      d = fma(w0, v128.load(a0 + o), d);
      d = fma(w1, v128.load(a1 + o), d);
      d = fma(w2, v128.load(a2 + o), d);
      d = fma(w3, v128.load(a3 + o), d);
      v128.store(dj + o, d);
    }
    for (; c < hd; c++) {
      const o = <usize>(c << 2);
      let d = load<f32>(dj + o);
      d += f32x4.extract_lane(w0, 0) * load<f32>(a0 + o);
      d += f32x4.extract_lane(w1, 0) * load<f32>(a1 + o);
      d += f32x4.extract_lane(w2, 0) * load<f32>(a2 + o);
      d += f32x4.extract_lane(w3, 0) * load<f32>(a3 + o);
      store<f32>(dj + o, d);
    }
  }
}

/**
 * max of row[0..n): four lanes with pmax (one instruction; f32 max's NaN rules cost several under
 * V8), then the tail. A NaN score is not lost: exp carries it into the row sum.
 */
// @ts-ignore: decorator
@inline function rowMax(row: usize, n: i32): f32 {
  let mv = f32x4.splat(-Infinity);
  let j = 0;
  for (; j + 4 <= n; j += 4) mv = f32x4.pmax(mv, v128.load(row + (<usize>j << 2)));
  mv = f32x4.pmax(mv, v128.shuffle<f32>(mv, mv, 2, 3, 0, 1));
  let t = max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1));
  for (; j < n; j++) t = max(t, load<f32>(row + (<usize>j << 2)));
  return t;
}

/** Σ row[0..n) in four lanes (fixed order: lanes, then (l0 + l2) + (l1 + l3), then the tail). */
// @ts-ignore: decorator
@inline function rowSum(row: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= n; j += 4) acc = f32x4.add(acc, v128.load(row + (<usize>j << 2)));
  let t = hsum(acc);
  for (; j < n; j++) t += load<f32>(row + (<usize>j << 2));
  return t;
}

/** Row r of the tile: exp(S - m) for the first `valid` entries, exactly 0 after (causal mask). */
// @ts-ignore: decorator
@inline function expRow(row: usize, m: f32, valid: i32, jn: i32): void {
  const mv = f32x4.splat(m);
  for (let j = 0; j < valid; j += 4) {
    const p = row + (<usize>j << 2);
    v128.store(p, expv(f32x4.sub(v128.load(p), mv)));
  }
  for (let j = valid; j < jn; j++) store<f32>(row + (<usize>j << 2), 0);
}

/**
 * Four query rows (q0 and the next three at stride qStride; row r sits at position pos0 + r and
 * sees keys 0..pos0+r) against keys/values kb, vb (stride kvStride). Rows beyond `rows` are
 * computed as copies of the last one and not stored. Writes out rows (stride qStride) and, when
 * lse != 0, the log-sum-exp of row r at lse + 4r.
 */
function attend4(out: usize, lse: usize, q0: usize, qStride: usize, rows: i32, kb: usize, vb: usize, kvStride: usize,
  pos0: i32, hd: i32, scl: f32, scratch: usize): void {
  const S = scratch;                                // 4 × TILE scores, then probabilities
  const acc = S + <usize>(4 * TILE * 4);            // 4 × hd
  const q = acc + (<usize>(4 * hd) << 2);           // 4 query rows, contiguous (tail rows duplicated)
  const hb = <usize>hd << 2;
  for (let r = 0; r < 4; r++) memory.copy(q + <usize>r * hb, q0 + <usize>min(r, rows - 1) * qStride, hb);
  zero(acc, 4 * hd);
  let m0: f32 = -Infinity, m1: f32 = -Infinity, m2: f32 = -Infinity, m3: f32 = -Infinity;
  let l0: f32 = 0, l1: f32 = 0, l2: f32 = 0, l3: f32 = 0;
  const nKeys = pos0 + min(rows, 4); // keys the last real row sees
  for (let j0 = 0; j0 < nKeys; j0 += TILE) {
    const jn = min(TILE, nKeys - j0);
    dots4(S, q, hb, kb + <usize>j0 * kvStride, kvStride, jn, hd, scl);
    for (let r = 0; r < 4; r++) {
      const row = S + <usize>(r * TILE * 4);
      const valid = max(0, min(jn, pos0 + min(r, rows - 1) + 1 - j0)); // 0 when the tile starts after this row
      const tmax = rowMax(row, valid);
      let m = r == 0 ? m0 : r == 1 ? m1 : r == 2 ? m2 : m3;
      let l = r == 0 ? l0 : r == 1 ? l1 : r == 2 ? l2 : l3;
      if (tmax > m) {
        if (l > 0) {
          const alpha = Mathf.exp(m - tmax);
          l *= alpha;
          const av = f32x4.splat(alpha);
          const ar = acc + <usize>r * hb;
          let c = 0;
          for (; c + 4 <= hd; c += 4) v128.store(ar + <usize>(c << 2), f32x4.mul(v128.load(ar + <usize>(c << 2)), av));
          for (; c < hd; c++) store<f32>(ar + <usize>(c << 2), load<f32>(ar + <usize>(c << 2)) * alpha);
        }
        m = tmax;
      }
      expRow(row, m, valid, jn);
      l += rowSum(row, jn); // entries from `valid` on are exact zeros
      if (r == 0) { m0 = m; l0 = l; } else if (r == 1) { m1 = m; l1 = l; } else if (r == 2) { m2 = m; l2 = l; } else { m3 = m; l3 = l; }
    }
    axpy4(acc, S, vb + <usize>j0 * kvStride, kvStride, jn, hd);
  }
  for (let r = 0; r < rows && r < 4; r++) {
    const m = r == 0 ? m0 : r == 1 ? m1 : r == 2 ? m2 : m3;
    const l = r == 0 ? l0 : r == 1 ? l1 : r == 2 ? l2 : l3;
    const inv: f32 = <f32>1 / l;
    const o = out + <usize>r * qStride, ar = acc + <usize>r * hb;
    for (let c = 0; c < hd; c++) store<f32>(o + <usize>(c << 2), load<f32>(ar + <usize>(c << 2)) * inv);
    if (lse != 0) store<f32>(lse + <usize>(r << 2), m + Mathf.log(l));
  }
}

/**
 * One query row (a decode step) against keys/values kb, vb (stride kvStride), nKeys of them: the
 * arithmetic of attend4's row 0, bitwise, without the three duplicated rows attend4 would carry.
 * Keys are scored four at a time (the query chunk loaded once for four keys).
 */
function attend1(out: usize, q: usize, kb: usize, vb: usize, kvStride: usize, nKeys: i32, hd: i32, scl: f32, scratch: usize): void {
  const S = scratch;                      // TILE scores, then probabilities
  const acc = S + <usize>(TILE * 4);      // hd
  zero(acc, hd);
  let m: f32 = -Infinity, l: f32 = 0;
  for (let j0 = 0; j0 < nKeys; j0 += TILE) {
    const jn = min(TILE, nKeys - j0);
    const k0 = kb + <usize>j0 * kvStride;
    let j = 0;
    for (; j + 4 <= jn; j += 4) {
      const b0 = k0 + <usize>j * kvStride, b1 = b0 + kvStride, b2 = b1 + kvStride, b3 = b2 + kvStride;
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
      let c = 0;
      for (; c + 4 <= hd; c += 4) {
        const o = <usize>(c << 2);
        const qv = v128.load(q + o);
        s0 = fma(qv, v128.load(b0 + o), s0); s1 = fma(qv, v128.load(b1 + o), s1);
        s2 = fma(qv, v128.load(b2 + o), s2); s3 = fma(qv, v128.load(b3 + o), s3);
      }
      let d0 = hsum(s0), d1 = hsum(s1), d2 = hsum(s2), d3 = hsum(s3);
      for (; c < hd; c++) {
        const o = <usize>(c << 2);
        const qs = load<f32>(q + o);
        d0 += qs * load<f32>(b0 + o); d1 += qs * load<f32>(b1 + o); d2 += qs * load<f32>(b2 + o); d3 += qs * load<f32>(b3 + o);
      }
      const sj = S + (<usize>j << 2);
      store<f32>(sj, d0 * scl); store<f32>(sj, d1 * scl, 4); store<f32>(sj, d2 * scl, 8); store<f32>(sj, d3 * scl, 12);
    }
    for (; j < jn; j++) {
      const bj = k0 + <usize>j * kvStride;
      let s0 = f32x4.splat(0);
      let c = 0;
      for (; c + 4 <= hd; c += 4) s0 = fma(v128.load(q + <usize>(c << 2)), v128.load(bj + <usize>(c << 2)), s0);
      let d0 = hsum(s0);
      for (; c < hd; c++) d0 += load<f32>(q + <usize>(c << 2)) * load<f32>(bj + <usize>(c << 2));
      store<f32>(S + (<usize>j << 2), d0 * scl);
    }
    const tmax = rowMax(S, jn);
    if (tmax > m) {
      if (l > 0) {
        const alpha = Mathf.exp(m - tmax);
        l *= alpha;
        const av = f32x4.splat(alpha);
        let c = 0;
        for (; c + 4 <= hd; c += 4) v128.store(acc + <usize>(c << 2), f32x4.mul(v128.load(acc + <usize>(c << 2)), av));
        for (; c < hd; c++) store<f32>(acc + <usize>(c << 2), load<f32>(acc + <usize>(c << 2)) * alpha);
      }
      m = tmax;
    }
    expRow(S, m, jn, jn);
    l += rowSum(S, jn);
    const v0 = vb + <usize>j0 * kvStride;
    let c = 0;
    for (; c + 4 <= hd; c += 4) {
      const o = <usize>(c << 2);
      let r = v128.load(acc + o);
      for (let jj = 0; jj < jn; jj++) r = fma(v128.load32_splat(S + (<usize>jj << 2)), v128.load(v0 + <usize>jj * kvStride + o), r);
      v128.store(acc + o, r);
    }
    for (; c < hd; c++) {
      const o = <usize>(c << 2);
      let r = load<f32>(acc + o);
      for (let jj = 0; jj < jn; jj++) r += load<f32>(S + (<usize>jj << 2)) * load<f32>(v0 + <usize>jj * kvStride + o);
      store<f32>(acc + o, r);
    }
  }
  const inv: f32 = <f32>1 / l;
  for (let c = 0; c < hd; c++) store<f32>(out + <usize>(c << 2), load<f32>(acc + <usize>(c << 2)) * inv);
}

export function attention_forward(out: usize, lse: usize, q: usize, k: usize, v: usize,
  B: i32, T: i32, nH: i32, nKv: i32, hd: i32, scratch: usize, scratchStride: usize, counter: usize, tid: i32, nth: i32): void {
  const sc = scratch + <usize>tid * scratchStride;
  const scl: f32 = <f32>1 / Mathf.sqrt(<f32>hd);
  const group = nH / nKv;
  const nqb = (T + QB - 1) / QB;
  const units = B * nH * nqb;
  const qRow = <usize>(nH * hd) << 2;
  const kvRow = <usize>(nKv * hd) << 2;
  for (let u = claim(counter); u < units; u = claim(counter)) {
    // the last query blocks cost the most: hand them out first, so the cheap ones even out the end
    const qb = nqb - 1 - u / (B * nH);
    const bh = u % (B * nH);
    const h = bh % nH, b = bh / nH;
    const kvh = h / group;
    const kb = k + <usize>(b * T) * kvRow + (<usize>(kvh * hd) << 2);
    const vb = v + <usize>(b * T) * kvRow + (<usize>(kvh * hd) << 2);
    const i1 = min(T, (qb + 1) * QB);
    for (let i = qb * QB; i < i1; i += 4) {
      const off = <usize>(b * T + i) * qRow + (<usize>(h * hd) << 2);
      attend4(out + off, lse + (<usize>((b * nH + h) * T + i) << 2), q + off, qRow, i1 - i, kb, vb, kvRow, i, hd, scl, sc);
    }
  }
}

export function attention_backward(dq: usize, dk: usize, dv: usize, dout: usize, q: usize, k: usize, v: usize,
  out: usize, lse: usize, B: i32, T: i32, nH: i32, nKv: i32, hd: i32, scratch: usize, scratchStride: usize,
  counter: usize, tid: i32, nth: i32): void {
  const sc = scratch + <usize>tid * scratchStride;
  const P = sc;                                   // 4 × TILE probabilities
  const dS = P + <usize>(4 * TILE * 4);           // 4 × TILE: dP, then dS
  const rowsQ = dS + <usize>(4 * TILE * 4);       // 4 × hd: query rows (tail duplicated, then zeroed weights)
  const rowsDO = rowsQ + (<usize>(4 * hd) << 2);  // 4 × hd: dout rows
  const dqAcc = rowsDO + (<usize>(4 * hd) << 2);  // 4 × hd
  const hb = <usize>hd << 2;
  const scl: f32 = <f32>1 / Mathf.sqrt(<f32>hd);
  const group = nH / nKv;
  const qRow = <usize>(nH * hd) << 2;
  const kvRow = <usize>(nKv * hd) << 2;
  const units = B * nKv;
  for (let u = claim(counter); u < units; u = claim(counter)) {
    const b = u / nKv, kvh = u % nKv;
    const kvOff = <usize>(b * T) * kvRow + (<usize>(kvh * hd) << 2);
    const kb = k + kvOff, vb = v + kvOff, dkb = dk + kvOff, dvb = dv + kvOff;
    for (let h = kvh * group; h < (kvh + 1) * group; h++) {
      for (let i = 0; i < T; i += 4) {
        const rows = min(4, T - i);
        const off = <usize>(b * T + i) * qRow + (<usize>(h * hd) << 2);
        let L0: f32 = 0, L1: f32 = 0, L2: f32 = 0, L3: f32 = 0, D0: f32 = 0, D1: f32 = 0, D2: f32 = 0, D3: f32 = 0;
        for (let r = 0; r < 4; r++) {
          const src = <usize>min(r, rows - 1) * qRow;
          memory.copy(rowsQ + <usize>r * hb, q + off + src, hb);
          memory.copy(rowsDO + <usize>r * hb, dout + off + src, hb);
          // D = rowsum(dout ∘ out); lse of the row
          let d: f32 = 0;
          const o = out + off + src, g = dout + off + src;
          for (let c = 0; c < hd; c++) d += load<f32>(o + <usize>(c << 2)) * load<f32>(g + <usize>(c << 2));
          const L = load<f32>(lse + (<usize>((b * nH + h) * T + i + min(r, rows - 1)) << 2));
          if (r == 0) { L0 = L; D0 = d; } else if (r == 1) { L1 = L; D1 = d; } else if (r == 2) { L2 = L; D2 = d; } else { L3 = L; D3 = d; }
        }
        zero(dqAcc, 4 * hd);
        const nKeys = i + rows;
        for (let j0 = 0; j0 < nKeys; j0 += TILE) {
          const jn = min(TILE, nKeys - j0);
          const kt = kb + <usize>j0 * kvRow, vt = vb + <usize>j0 * kvRow;
          dots4(P, rowsQ, hb, kt, kvRow, jn, hd, scl);        // scores
          dots4(dS, rowsDO, hb, vt, kvRow, jn, hd, 1);        // dP = dout · v
          for (let r = 0; r < 4; r++) {
            const prow = P + <usize>(r * TILE * 4), drow = dS + <usize>(r * TILE * 4);
            // rows beyond the real ones (duplicates) get zero weight: they must not touch dk/dv
            const valid = r < rows ? max(0, min(jn, i + r + 1 - j0)) : 0;
            const L = r == 0 ? L0 : r == 1 ? L1 : r == 2 ? L2 : L3;
            const D = r == 0 ? D0 : r == 1 ? D1 : r == 2 ? D2 : D3;
            expRow(prow, L, valid, jn);
            // dS = P ∘ (dP - D) * scale
            const Dv = f32x4.splat(D), sv = f32x4.splat(scl);
            let j = 0;
            for (; j + 4 <= jn; j += 4) {
              const o = <usize>(j << 2);
              v128.store(drow + o, f32x4.mul(f32x4.mul(v128.load(prow + o), f32x4.sub(v128.load(drow + o), Dv)), sv));
            }
            for (; j < jn; j++) {
              const o = <usize>(j << 2);
              store<f32>(drow + o, load<f32>(prow + o) * (load<f32>(drow + o) - D) * scl);
            }
          }
          axpy4(dqAcc, dS, kt, kvRow, jn, hd);                       // dQ_r += Σ_j dS_rj k_j
          rank4Update(dkb + <usize>j0 * kvRow, kvRow, dS, rowsQ, hb, jn, hd); // dK_j += Σ_r dS_rj q_r
          rank4Update(dvb + <usize>j0 * kvRow, kvRow, P, rowsDO, hb, jn, hd); // dV_j += Σ_r P_rj dout_r
        }
        for (let r = 0; r < rows; r++) {
          const dqi = dq + off + <usize>r * qRow, a = dqAcc + <usize>r * hb;
          for (let c = 0; c < hd; c++) {
            const o = <usize>(c << 2);
            store<f32>(dqi + o, load<f32>(dqi + o) + load<f32>(a + o));
          }
        }
      }
    }
  }
}

/**
 * T new query rows over a KV cache [maxSeqLen, nKv, hd]; row t sees positions 0..pos0+t.
 * Units (block of 4 rows, head) interleaved over threads.
 */
export function attention_cached(out: usize, q: usize, kCache: usize, vCache: usize, T: i32, pos0: i32,
  nH: i32, nKv: i32, hd: i32, scratch: usize, scratchStride: usize, counter: usize, tid: i32, nth: i32): void {
  const sc = scratch + <usize>tid * scratchStride;
  const scl: f32 = <f32>1 / Mathf.sqrt(<f32>hd);
  const group = nH / nKv;
  const qRow = <usize>(nH * hd) << 2;
  const kvRow = <usize>(nKv * hd) << 2;
  const nb = (T + 3) / 4;
  const units = nb * nH;
  for (let u = claim(counter); u < units; u = claim(counter)) {
    const t = (u / nH) * 4, h = u % nH;
    const kvh = h / group;
    const off = <usize>t * qRow + (<usize>(h * hd) << 2);
    const kvOff = <usize>(kvh * hd) << 2;
    if (T - t == 1) attend1(out + off, q + off, kCache + kvOff, vCache + kvOff, kvRow, pos0 + t + 1, hd, scl, sc); // decode
    else attend4(out + off, 0, q + off, qRow, T - t, kCache + kvOff, vCache + kvOff, kvRow, pos0 + t, hd, scl, sc);
  }
}
