// Activation quantization for the block-quantized weight products, exactly as llama.cpp's x86 CPU
// path quantizes a row into the weights' "vec_dot_type" before an integer dot product:
//   Q8_0 (for Q8_0 and Q4_0 weights), per 32-block: m = max|x|, d = f16(m / 127), q = nearest-even(x · 127/m);
//   Q8_K (for the K-quants), per 256-block: see quantizeBlock256K.
// Shared by decode (matvec-q.ts, matvec-k.ts) and prefill (gemm-q.ts): both see the same integers and scales.

/** x rounded to the nearest f16 value (ties to even), returned as f32: GGML_FP32_TO_FP16 then back. */
export function roundToHalf(x: f32): f32 {
  const bits = reinterpret<u32>(x);
  const mag = bits & 0x7fffffff;
  const sign = bits & 0x80000000;
  if (mag >= 0x7f800000) return x;                                   // Inf / NaN
  if (mag >= 0x477ff000) return reinterpret<f32>(sign | 0x7f800000); // >= 65520: f16 overflow
  if (mag < 0x38800000) {
    // f16 subnormal range: multiples of 2^-24 (the scalings by powers of two are exact)
    return f32.nearest(x * <f32>16777216) * <f32>5.9604644775390625e-8;
  }
  // normal: round the 23-bit mantissa to 10 bits, ties to even (a carry into the exponent is right)
  return reinterpret<f32>(sign | ((mag + 0xfff + ((mag >> 13) & 1)) & 0xffffe000));
}

/** Σq of the block quantizeBlock32 last quantized (the zero-point term of q4_0's biased nibbles). */
export let blockSum: i32 = 0;

/**
 * Quantizes the 32 floats at src: writes 32 int16 values (each in [-127, 127]) at dst and
 * returns the block's scale d (0 for an all-zero block); leaves Σq in blockSum.
 */
export function quantizeBlock32(src: usize, dst: usize): f32 {
  let amax = f32x4.splat(0);
  for (let j = 0; j < 32; j += 4) amax = f32x4.max(amax, f32x4.abs(v128.load(src + <usize>(j << 2))));
  const m = max(max(f32x4.extract_lane(amax, 0), f32x4.extract_lane(amax, 1)),
    max(f32x4.extract_lane(amax, 2), f32x4.extract_lane(amax, 3)));
  const id = f32x4.splat(m != 0 ? <f32>127 / m : 0);
  let sum = i32x4.splat(0);
  for (let j = 0; j < 32; j += 8) {
    const lo = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(src + <usize>(j << 2)), id)));
    const hi = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(src + <usize>((j + 4) << 2)), id)));
    sum = i32x4.add(sum, i32x4.add(lo, hi));
    v128.store(dst + <usize>(j << 1), i16x8.narrow_i32x4_s(lo, hi));
  }
  blockSum = i32x4.extract_lane(sum, 0) + i32x4.extract_lane(sum, 1) + i32x4.extract_lane(sum, 2) + i32x4.extract_lane(sum, 3);
  return roundToHalf(m / 127);
}

/**
 * Q8_K rounding of the 256 floats at src, llama.cpp's activation rounding for K-quant products
 * (ggml quantize_row_q8_K_ref): the value of largest magnitude (the first, on ties) maps to -127
 * through iscale = -127/max, q = min(127, nearest-even(iscale·x)). Writes 256 int16 values at dst
 * and the eight 32-value sums Σq as i32 at sums; returns d = 1/iscale (0 for an all-zero block).
 */
export function quantizeBlock256K(src: usize, dst: usize, sums: usize): f32 {
  let va = f32x4.splat(0);
  for (let j = 0; j < 256; j += 4) va = f32x4.max(va, f32x4.abs(v128.load(src + <usize>(j << 2))));
  const amax = max(max(f32x4.extract_lane(va, 0), f32x4.extract_lane(va, 1)), max(f32x4.extract_lane(va, 2), f32x4.extract_lane(va, 3)));
  if (amax == 0) {
    memory.fill(dst, 0, 512);
    memory.fill(sums, 0, 32);
    return 0;
  }
  let m: f32 = 0;
  for (let j = 0; j < 256; j++) {
    const v = load<f32>(src + <usize>(j << 2));
    if (abs(v) == amax) { m = v; break; }
  }
  const iscale: f32 = <f32>-127 / m;
  const is = f32x4.splat(iscale);
  const top = i32x4.splat(127);
  for (let c = 0; c < 8; c++) {
    let sum = i32x4.splat(0);
    for (let j = c * 32; j < c * 32 + 32; j += 8) {
      const lo = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(src + <usize>(j << 2)), is))), top);
      const hi = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(src + <usize>((j + 4) << 2)), is))), top);
      sum = i32x4.add(sum, i32x4.add(lo, hi));
      v128.store(dst + <usize>(j << 1), i16x8.narrow_i32x4_s(lo, hi));
    }
    store<i32>(sums + <usize>(c << 2), i32x4.extract_lane(sum, 0) + i32x4.extract_lane(sum, 1) + i32x4.extract_lane(sum, 2) + i32x4.extract_lane(sum, 3));
  }
  return <f32>1 / iscale;
}
