// Builds the AssemblyScript kernels twice: with relaxed SIMD (fused multiply-add) and with plain
// 128-bit SIMD. The loader picks one at run time with WebAssembly.validate.
import asc from 'assemblyscript/asc';
import { mkdirSync } from 'node:fs';

const entry = 'src/kernels/asm/index.ts';
const common = [
  entry, '--optimizeLevel', '3', '--shrinkLevel', '0', '--noAssert', '--runtime', 'stub',
  '--importMemory', '--sharedMemory', '--initialMemory', '1', '--maximumMemory', '65536',
  '--enable', 'simd', '--enable', 'threads', '--use', 'abort=',
];
mkdirSync('dist/wasm', { recursive: true });
for (const [name, extra] of [['kernels-relaxed', ['--enable', 'relaxed-simd']], ['kernels-simd', []]]) {
  const { error, stderr } = await asc.main([...common, ...extra, '--outFile', `dist/wasm/${name}.wasm`]);
  if (error) {
    console.error(stderr.toString());
    console.error(`build-wasm: ${name} failed: ${error.message}`);
    process.exit(1);
  }
}
console.log('build-wasm: dist/wasm/kernels-relaxed.wasm, dist/wasm/kernels-simd.wasm');
