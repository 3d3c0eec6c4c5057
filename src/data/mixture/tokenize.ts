/**
 * Tokenizes a JSONL document shard into a token shard (src/data/token-shard.ts, the trainer's
 * format): one document per record, no BOS/EOS (the trainer's loader frames documents).
 * Written atomically by TokenShardWriter; an empty text still gives an (empty) document so the
 * document count matches the JSONL shard.
 * With `encodeMany` (e.g. the tokenizer's worker pool, src/tokenizer/batch.ts encodeStream) the
 * texts stream through it and come back in order; the shard is the same byte for byte.
 */
import type { BadRecordSink } from '../document.js';
import { readJsonlDocs } from '../readers/jsonl.js';
import { TokenShardWriter, type TokenShardHeader } from '../token-shard.js';

export interface TextEncoder32 {
  readonly vocabSize: number;
  encode(text: string): number[];
}

/** Encodes a stream of texts, yielding one id sequence per text in input order. */
export type EncodeMany = (texts: AsyncIterable<string>) => AsyncIterable<ArrayLike<number>>;

export async function tokenizeShard(jsonlPath: string, tokenPath: string, tok: TextEncoder32, sink: BadRecordSink,
  encodeMany?: EncodeMany): Promise<{ header: TokenShardHeader; textBytes: number }> {
  const w = new TokenShardWriter(tokenPath, tok.vocabSize);
  let textBytes = 0;
  async function* texts(): AsyncGenerator<string> {
    for await (const doc of readJsonlDocs(jsonlPath, sink)) {
      textBytes += Buffer.byteLength(doc.text);
      yield doc.text;
    }
  }
  try {
    if (encodeMany) {
      for await (const ids of encodeMany(texts())) w.addDocument(ids);
    } else {
      for await (const text of texts()) w.addDocument(tok.encode(text));
    }
    return { header: w.close(), textBytes };
  } catch (e) {
    w.abort();
    throw e;
  }
}
