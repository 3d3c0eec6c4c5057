/**
 * The step after segmentation, shared by BPE and unigram (SentencePieceProcessor's
 * PopulateSentencePieceText): an unknown piece becomes its UTF-8 bytes when byte_fallback is on;
 * otherwise a run of consecutive unknown pieces becomes one <unk> (one piece, texts joined).
 */
import type { Vocab } from './vocab.js';

export interface EncodedPiece { piece: string; id: number }

const encoder = new TextEncoder();

export function appendIds(vocab: Vocab, pieces: readonly EncodedPiece[], out: number[], prevUnk = false): boolean {
  const { unkId, byteFallback, byteIds } = vocab;
  for (const { piece, id } of pieces) {
    if (id === unkId) {
      if (byteFallback) { for (const b of encoder.encode(piece)) out.push(byteIds[b]); }
      else if (!prevUnk) out.push(unkId);
      prevUnk = true;
    } else {
      out.push(id);
      prevUnk = false;
    }
  }
  return prevUnk;
}

export function piecesOf(vocab: Vocab, pieces: readonly EncodedPiece[]): string[] {
  const out: string[] = [];
  const { unkId, byteFallback, byteIds } = vocab;
  let prevUnk = false;
  for (const { piece, id } of pieces) {
    if (id === unkId) {
      if (byteFallback) for (const b of encoder.encode(piece)) out.push(vocab.pieces[byteIds[b]]);
      else if (prevUnk) out[out.length - 1] += piece;
      else out.push(piece);
      prevUnk = true;
    } else { out.push(piece); prevUnk = false; }
  }
  return out;
}

/** What the tokenizer needs from a segmentation model (BPE or unigram), given normalized text. */
export interface SegmentEncoder {
  encodeIds(normalized: string, out?: number[]): number[];
  encodeAsPieces(normalized: string): string[];
}
