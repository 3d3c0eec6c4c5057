/**
 * Ids → text exactly as SentencePieceProcessor::Decode (0.1.97): control pieces vanish, <unk>
 * becomes trainer_spec.unk_surface (" ⁇ "), runs of byte pieces are reassembled as UTF-8 with each
 * invalid byte → U+FFFD, "▁" → " ", and the first "▁" of the text is dropped when the normalizer
 * added a dummy prefix (or removes extra whitespace).
 */
import { PieceType } from './model-proto.js';
import { SPACE_SYMBOL } from './normalizer.js';
import { decodeUtf8Lenient } from './utf8.js';
import type { Vocab } from './vocab.js';

export class IdRangeError extends RangeError {}

export interface DecoderOptions {
  unkSurface: string;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  /** Applied to the decoded text when the model has a denormalizer. */
  denormalize?: (text: string) => string;
}

export class Decoder {
  /** Each piece with "▁" already turned into " " (one UTF-16 unit each, so offsets agree). */
  private readonly surfaces: string[];

  constructor(private readonly vocab: Vocab, private readonly opts: DecoderOptions) {
    this.surfaces = vocab.pieces.map((p) => p.replaceAll(SPACE_SYMBOL, ' '));
  }

  decode(ids: readonly number[]): string {
    const { pieces, types, byteOfId } = this.vocab;
    const n = pieces.length;
    const stripBosWs = this.opts.addDummyPrefix || this.opts.removeExtraWhitespaces;
    let text = '';
    let bytes: number[] = [];
    let isBosWs = true;
    let bosWsSeen = false;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= n) {
        throw new IdRangeError(`id ${id} at position ${i} is out of range: the vocabulary has ids 0..${n - 1}`);
      }
      const t = types[id];
      if (t === PieceType.BYTE) { bytes.push(byteOfId[id]); continue; }
      if (bytes.length) { text += decodeUtf8Lenient(Uint8Array.from(bytes)); bytes = []; }
      if (bosWsSeen || text.length > 0) isBosWs = false;
      bosWsSeen = false;
      if (t === PieceType.CONTROL) continue;
      if (t === PieceType.UNKNOWN) { text += this.opts.unkSurface; continue; }
      if (isBosWs && stripBosWs && pieces[id].startsWith(SPACE_SYMBOL)) {
        text += this.surfaces[id].slice(1);
        // With remove_extra_whitespaces every leading "▁" piece is dropped, not just the first.
        bosWsSeen = !this.opts.removeExtraWhitespaces;
        continue;
      }
      text += this.surfaces[id];
    }
    if (bytes.length) text += decodeUtf8Lenient(Uint8Array.from(bytes));
    return this.opts.denormalize ? this.opts.denormalize(text) : text;
  }
}
