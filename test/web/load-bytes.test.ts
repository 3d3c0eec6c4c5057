/**
 * The browser's loading path, run in Node: a GGUF file given as bytes (MemoryByteSource) parses
 * exactly as the file on disk does, and loadModelFromBytes builds a model that generates what
 * loadModel(path) generates. Bad bytes give errors that name the file and the byte offset.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { MemoryByteSource } from '../../src/formats/byte-source.js';
import { openGguf } from '../../src/formats/gguf.js';
import { createBackend } from '../../src/kernels/index.js';
import type { Backend } from '../../src/kernels/backend.js';
import { loadModelFromBytes } from '../../src/web/load-bytes.js';
import { join } from 'node:path';
import { openTrainingCheckpointBytes } from '../../src/web/training-checkpoint.js';
import { loadTiny, TOKENIZER, writeTinyGguf } from '../serve/helpers.js';
import { writeTrainingCheckpoint } from './helpers.js';

let path: string;
let bytes: Uint8Array;
let backend: Backend;

before(async () => {
  path = writeTinyGguf();
  bytes = new Uint8Array(readFileSync(path));
  backend = await createBackend({ kind: 'wasm', threads: 2 });
});
after(() => backend?.dispose());

describe('MemoryByteSource', () => {
  it('reads ranges and refuses reads past the end or after close', () => {
    const src = new MemoryByteSource(new Uint8Array([1, 2, 3, 4, 5]), 'five.bin');
    assert.deepEqual([...src.read(1, 3, 'middle')], [2, 3, 4]);
    assert.throws(() => src.read(3, 3, 'the tail'), /five\.bin is truncated or corrupt: the tail needs bytes \[3, 6\) but the file has 5 bytes/);
    assert.throws(() => src.read(-1, 1, 'x'), /needs bytes \[-1, 0\)/);
    src.close();
    assert.throws(() => src.read(0, 1, 'the head'), /read of the head after the file was closed/);
  });

  it('parses a GGUF exactly as the file on disk', () => {
    const a = openGguf(path);
    const b = openGguf(new MemoryByteSource(bytes, 'tiny.gguf'));
    try {
      assert.equal(b.path, 'tiny.gguf');
      assert.deepEqual(b.tensors, a.tensors);
      assert.deepEqual([...b.metadata.keys()], [...a.metadata.keys()]);
      assert.deepEqual(b.metadata.get('tokenizer.ggml.tokens'), a.metadata.get('tokenizer.ggml.tokens'));
      const t = a.tensors[3]!;
      assert.deepEqual(b.file.read(t.fileOffset, t.byteLength, 't'), a.file.read(t.fileOffset, t.byteLength, 't'));
    } finally {
      a.file.close();
      b.file.close();
    }
  });
});

describe('loadModelFromBytes', () => {
  it('generates what loadModel(path) generates', async () => {
    const fromFile = await loadTiny(path, 2);
    const fromBytes = loadModelFromBytes(bytes, 'tiny.gguf', { backend });
    const ids = fromFile.tokenizer!.encode('It was a dark and stormy night', { bos: true });
    assert.deepEqual(fromBytes.tokenizer!.encode('It was a dark and stormy night', { bos: true }), ids);
    for (const opts of [{ temperature: 0, maxTokens: 20 }, { temperature: 0.8, topK: 20, topP: 0.9, seed: 3, maxTokens: 20 }]) {
      const a = await fromFile.generate(ids, opts);
      const b = await fromBytes.generate(ids, opts);
      assert.deepEqual(b.tokens, a.tokens);
      assert.equal(b.text, a.text);
    }
    assert.equal(fromBytes.name, fromFile.name, 'named like a model loaded from disk');
    assert.equal(fromBytes.contextLength, 256);
    fromFile.dispose();
  });

  it('names the file and what is wrong for bad bytes', () => {
    assert.throws(() => loadModelFromBytes(new TextEncoder().encode('{"not": "a model"}'), 'model.json', { backend }),
      /model\.json is not a GGUF model file: it starts with bytes \[7b 22 6e 6f\]/);
    assert.throws(() => loadModelFromBytes(new Uint8Array(0), 'empty.gguf', { backend }), /empty\.gguf is not a GGUF model file/);
    assert.throws(() => loadModelFromBytes(bytes.subarray(0, 30), 'head.gguf', { backend }), /head\.gguf is (truncated|corrupt).*byte \d+/);
    // a file cut inside the tensor data: the header parses, the last tensor does not fit
    assert.throws(() => loadModelFromBytes(bytes.subarray(0, bytes.length - 100), 'cut.gguf', { backend }),
      /cut\.gguf is truncated: tensor '[^']+' needs bytes \[\d+, \d+\) but the file has \d+ bytes/);
    assert.throws(() => loadModelFromBytes(bytes, 'tiny.gguf', { backend, contextLength: 1000 }), /context length 1000 must be an integer in 1\.\.256/);
  });
});

describe('training checkpoints in memory', () => {
  it('a .ckpt with its tokenizer.model generates what the same weights as GGUF generate', async () => {
    const ckptPath = join(dirname(path), 'step-00000007.ckpt');
    writeTrainingCheckpoint(path, ckptPath);
    const ckptBytes = new Uint8Array(readFileSync(ckptPath));
    const tokenizer = { bytes: new Uint8Array(readFileSync(TOKENIZER)), name: 'tokenizer.model' };
    const { step, checkpoint } = openTrainingCheckpointBytes(ckptBytes, 'step-00000007.ckpt');
    assert.equal(step, 7);
    assert.equal(checkpoint.tensors.size, 2 + 2 * 9 + 1);
    const fromGguf = loadModelFromBytes(bytes, 'tiny.gguf', { backend });
    const fromCkpt = loadModelFromBytes(ckptBytes, 'step-00000007.ckpt', { backend, tokenizer });
    const ids = fromGguf.tokenizer!.encode('It was a dark and stormy night', { bos: true });
    const a = await fromGguf.generate(ids, { temperature: 0, maxTokens: 20 });
    const b = await fromCkpt.generate(ids, { temperature: 0, maxTokens: 20 });
    assert.deepEqual(b.tokens, a.tokens);

    assert.throws(() => loadModelFromBytes(ckptBytes, 'step-00000007.ckpt', { backend }),
      /step-00000007\.ckpt has no tokenizer: choose its tokenizer\.model together with it/);
    const wrongVocab = { bytes: new Uint8Array(readFileSync('fixtures/tokenizer/ours-botchan-default-1000.model')), name: 'small.model' };
    assert.throws(() => loadModelFromBytes(ckptBytes, 'step-00000007.ckpt', { backend, tokenizer: wrongVocab }),
      /small\.model has 1000 pieces but step-00000007\.ckpt's vocabulary is 2000/);
    const damaged = ckptBytes.slice();
    const at = damaged.length - 1000;
    damaged[at] ^= 0x40;
    assert.throws(() => openTrainingCheckpointBytes(damaged, 'bad.ckpt'), /checkpoint bad\.ckpt: section 'params' checksum mismatch.*\(at byte offset \d+\)/);
    assert.throws(() => openTrainingCheckpointBytes(ckptBytes.subarray(0, ckptBytes.length - 8), 'cut.ckpt'),
      /checkpoint cut\.ckpt: truncated: section 'params' needs bytes \[\d+, \d+\) but the file has \d+/);
    const header = ckptBytes.slice();
    header[30] ^= 0x01;
    assert.throws(() => openTrainingCheckpointBytes(header, 'hdr.ckpt'), /JSON header checksum mismatch.*\(at byte offset 20\)/);
  });
});
