/** Test helpers for the K-quants (random valid tensors live with the synthetic checkpoints). */
export { randomKQuant } from '../../src/formats/synthetic.js';
export { roundActivationsQ8_K } from '../../src/kernels/quant-k.js';
