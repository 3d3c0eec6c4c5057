/**
 * Tokenizes a JSONL document shard into a token shard (src/data/token-shard.ts, the trainer's
 * format): one document per record, no BOS/EOS (the trainer's loader frames documents).
 * Written atomically by TokenShardWriter; an empty text still gives an (empty) document so the
 * document count matches the JSONL shard.
 */
import type { BadRecordSink } from '../document.js';
import { readJsonlDocs } from '../readers/jsonl.js';
import { TokenShardWriter, type TokenShardHeader } from '../token-shard.js';

export interface TextEncoder32 {
  readonly vocabSize: number;
  encode(text: string): number[];
}

export async function tokenizeShard(jsonlPath: string, tokenPath: string, tok: TextEncoder32, sink: BadRecordSink): Promise<{ header: TokenShardHeader; textBytes: number }> {
  const w = new TokenShardWriter(tokenPath, tok.vocabSize);
  let textBytes = 0;
  try {
    for await (const doc of readJsonlDocs(jsonlPath, sink)) {
      textBytes += Buffer.byteLength(doc.text);
      w.addDocument(tok.encode(doc.text));
    }
    return { header: w.close(), textBytes };
  } catch (e) {
    w.abort();
    throw e;
  }
}
