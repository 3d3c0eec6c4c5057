/**
 * Unigram segmentation exactly as SentencePiece's unigram_model.cc EncodeOptimized (0.1.97):
 * Viterbi over UTF-8 byte positions; every NORMAL/USER_DEFINED piece found by walking a trie from
 * each character start is a candidate (UNUSED pieces are skipped); a user-defined piece scores
 * length × max_score − 0.1 so it always wins; a character no piece covers becomes <unk> scored
 * min_score − 10. Path scores are float32 as in C++ (candidates for pieces are summed in double
 * and rounded when stored; the <unk> candidate is a float sum), and on equal scores the first
 * candidate found stays (earlier start, then shorter piece).
 */
import { PieceType } from './model-proto.js';
import { appendIds, piecesOf, type EncodedPiece, type SegmentEncoder } from './piece-ids.js';
import type { Vocab } from './vocab.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
const UNK_PENALTY = 10;
const FLT_MIN = 1.1754943508222875e-38;

export class UnigramEncoder implements SegmentEncoder {
  /** Trie over UTF-8 bytes: edges keyed node * 256 + byte; value of a node = piece id or -1. */
  private readonly edges = new Map<number, number>();
  private readonly nodeValue: number[] = [-1];
  private readonly minScore: number;
  private readonly maxScore: number;

  constructor(private readonly vocab: Vocab) {
    let min = 3.4028234663852886e38, max = FLT_MIN;
    for (let i = 0; i < vocab.size; i++) {
      if (vocab.types[i] !== PieceType.NORMAL) continue;
      min = Math.min(min, vocab.scores[i]);
      max = Math.max(max, vocab.scores[i]);
    }
    this.minScore = min;
    this.maxScore = max;
    for (const [piece, id] of vocab.mergeable) {
      let node = 0;
      for (const b of encoder.encode(piece)) {
        const key = node * 256 + b;
        let child = this.edges.get(key);
        if (child === undefined) { child = this.nodeValue.length; this.nodeValue.push(-1); this.edges.set(key, child); }
        node = child;
      }
      this.nodeValue[node] = id;
    }
  }

  encodePieces(normalized: string): EncodedPiece[] {
    if (normalized.length === 0) return [];
    const bytes = encoder.encode(normalized);
    const size = bytes.length;
    const { types, scores, unkId } = this.vocab;
    const unkScore = Math.fround(this.minScore - UNK_PENALTY);
    const bestScore = new Float32Array(size + 1);
    const startsAt = new Int32Array(size + 1).fill(-1);
    const nodeId = new Int32Array(size + 1).fill(-1);
    let start = 0;
    while (start < size) {
      const till = bestScore[start];
      const lead = bytes[start];
      const mblen = Math.min(lead < 0xc0 ? 1 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4, size - start);
      let hasSingle = false;
      let node = 0;
      for (let pos = start; pos < size; pos++) {
        const child = this.edges.get(node * 256 + bytes[pos]);
        if (child === undefined) break;
        node = child;
        const id = this.nodeValue[node];
        if (id < 0 || types[id] === PieceType.UNUSED) continue;
        const end = pos + 1;
        const length = end - start;
        const score = types[id] === PieceType.USER_DEFINED ? Math.fround(length * this.maxScore) - 0.1 : scores[id];
        const candidate = score + till;
        if (startsAt[end] === -1 || candidate > bestScore[end]) {
          bestScore[end] = candidate;
          startsAt[end] = start;
          nodeId[end] = id;
        }
        if (!hasSingle && length === mblen) hasSingle = true;
      }
      if (!hasSingle) {
        const end = start + mblen;
        const candidate = Math.fround(unkScore + till);
        if (startsAt[end] === -1 || candidate > bestScore[end]) {
          bestScore[end] = candidate;
          startsAt[end] = start;
          nodeId[end] = unkId;
        }
      }
      start += mblen;
    }
    const out: EncodedPiece[] = [];
    for (let end = size; end > 0; end = startsAt[end]) {
      out.push({ piece: decoder.decode(bytes.subarray(startsAt[end], end)), id: nodeId[end] });
    }
    return out.reverse();
  }

  encodeIds(normalized: string, out: number[] = []): number[] {
    appendIds(this.vocab, this.encodePieces(normalized), out);
    return out;
  }

  encodeAsPieces(normalized: string): string[] {
    return piecesOf(this.vocab, this.encodePieces(normalized));
  }
}
