/**
 * Meta's LLaMA tokenizer survives a trip through a GGUF file: every piece (including id 30143,
 * which is U+FEFF itself — a UTF-8 decoder that strips byte-order marks would empty it) and the
 * ids it encodes.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeConfig } from '../../src/model/config.js';
import { loadCheckpointTokenizer, openCheckpoint, saveCheckpoint } from '../../src/formats/index.js';
import { syntheticCheckpoint } from '../../src/formats/synthetic.js';
import { tokenizerToGguf } from '../../src/formats/tokenizer-source.js';
import { SentencePieceTokenizer } from '../../src/tokenizer/index.js';

const META = '../shared/data/tokenizer/tokenizer.model';

it("Meta's tokenizer through GGUF: same pieces, same ids", () => {
  const meta = SentencePieceTokenizer.load(META);
  assert.equal(meta.idToPiece(30143), '\ufeff');
  const dir = mkdtempSync(join(tmpdir(), 'gguf-meta-tok-'));
  try {
    const config = makeConfig({ dim: 8, nLayers: 1, nHeads: 2, hiddenDim: 16, vocabSize: meta.vocabSize, maxSeqLen: 16 });
    const path = join(dir, 'm.gguf');
    saveCheckpoint(syntheticCheckpoint(config, {}, tokenizerToGguf(meta)), 'gguf', path);
    const ckpt = openCheckpoint(path);
    const back = loadCheckpointTokenizer(ckpt)!;
    ckpt.close();
    assert.equal(back.vocabSize, meta.vocabSize);
    for (let id = 0; id < meta.vocabSize; id++) assert.equal(back.idToPiece(id), meta.idToPiece(id), `piece ${id}`);
    for (const text of ['Hello world', '\ufeffBOM first', 'digits 12345 and tabs\tand\nnewlines', '日本語 emoji 🦙', '']) {
      assert.deepEqual(back.encode(text, { bos: true }), meta.encode(text, { bos: true }), JSON.stringify(text));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
