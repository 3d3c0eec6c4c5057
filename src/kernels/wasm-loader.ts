/**
 * Loading the WebAssembly kernels: the relaxed-SIMD build where the runtime validates it (Node 20
 * needs a V8 flag, set here before compiling), else the plain 128-bit SIMD build; a runtime with
 * neither gets an error that says what to do.
 */
export interface LoadedModule { module: WebAssembly.Module; relaxed: boolean }

export const isNode = typeof process !== 'undefined' && !!process.versions?.node;

async function wasmBytes(name: string): Promise<Uint8Array<ArrayBuffer>> {
  const url = new URL(`../../wasm/${name}.wasm`, import.meta.url);
  if (isNode) {
    const { readFile } = await import('node:fs/promises');
    try {
      const b = await readFile(url);
      return new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
    } catch (e) {
      throw new Error(`wasm backend: cannot read ${url.pathname} (${(e as Error).message}); build the kernels with \`npm run build:wasm\``);
    }
  }
  const res = await fetch(url);
  if (!res.ok) throw new Error(`wasm backend: fetching ${url} gave HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** Compiles the relaxed-SIMD build where the runtime validates it, else the plain-SIMD one. */
export async function loadKernelModule(noRelaxed: boolean): Promise<LoadedModule> {
  if (typeof WebAssembly === 'undefined') throw new Error('wasm backend: this runtime has no WebAssembly; use createBackend({ kind: "reference" })');
  if (isNode) {
    // Node 20 ships relaxed SIMD behind a flag; it must be set before the module is compiled.
    const v8 = await import('node:v8');
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  }
  const simd = await wasmBytes('kernels-simd');
  if (!WebAssembly.validate(simd)) {
    throw new Error('wasm backend: this runtime does not support WebAssembly 128-bit SIMD (and threads/shared memory), ' +
      'which the kernels need; use Node >= 20 or a current browser, or createBackend({ kind: "reference" })');
  }
  let bytes: Uint8Array<ArrayBuffer> = simd, relaxed = false;
  if (!noRelaxed) {
    const r = await wasmBytes('kernels-relaxed');
    if (WebAssembly.validate(r)) { bytes = r; relaxed = true; }
  }
  return { module: await compileOptimized(bytes), relaxed };
}

/**
 * Compiles every kernel with V8's optimizing tier up front (~15 ms). By default V8 compiles each
 * function lazily on its first call with its baseline compiler, whose code runs the gemm ~4×
 * slower, and optimizes it only after it has run a while: a model's first prefill ran at half
 * speed. In Node the two flags are switched for this compile only, back to what they were
 * before (unless given on the command line); elsewhere (browsers) the default tiering applies.
 */
async function compileOptimized(bytes: Uint8Array<ArrayBuffer>): Promise<WebAssembly.Module> {
  if (!isNode) return WebAssembly.compile(bytes);
  const v8 = await import('node:v8');
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].join(' ');
  const flags = ['liftoff', 'wasm-lazy-compilation'].filter((f) => !given.includes(f));
  for (const f of flags) v8.setFlagsFromString(`--no-${f}`);
  try {
    return await WebAssembly.compile(bytes);
  } finally {
    for (const f of flags) v8.setFlagsFromString(`--${f}`);
  }
}

