// Entry point of the WebAssembly kernels (AssemblyScript). Each file exports one family.
export function probe(a: f32, b: f32, c: f32): f32 {
  const v = ASC_FEATURE_RELAXED_SIMD
    ? f32x4.relaxed_madd(f32x4.splat(a), f32x4.splat(b), f32x4.splat(c))
    : f32x4.add(f32x4.mul(f32x4.splat(a), f32x4.splat(b)), f32x4.splat(c));
  return f32x4.extract_lane(v, 0);
}
