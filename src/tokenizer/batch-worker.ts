/** Worker side of encodeBatch: loads the model from bytes, encodes its share, sends flat ids back. */
import { parentPort, workerData } from 'node:worker_threads';
import { SentencePieceTokenizer } from './tokenizer.js';

const { modelBytes, name, texts, bos, eos } = workerData as { modelBytes: Uint8Array; name: string; texts: string[]; bos: boolean; eos: boolean };
try {
  const tok = SentencePieceTokenizer.fromBytes(modelBytes, name);
  const all: number[] = [];
  const offsets = new Int32Array(texts.length + 1);
  for (let i = 0; i < texts.length; i++) {
    tok.encode(texts[i], { bos, eos }).forEach((id) => all.push(id));
    offsets[i + 1] = all.length;
  }
  const ids = Int32Array.from(all);
  parentPort!.postMessage({ ids, offsets }, [ids.buffer, offsets.buffer]);
} catch (e) {
  parentPort!.postMessage({ ids: new Int32Array(0), offsets: new Int32Array(0), error: (e as Error).message });
}
