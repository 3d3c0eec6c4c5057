/** The tokenizer as inference, evaluation and serving need it (SentencePieceTokenizer implements it). */
export interface TextTokenizer {
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  encode(text: string, opts?: { bos?: boolean; eos?: boolean }): number[];
  decode(ids: readonly number[]): string;
  /** The piece string of one id (for streaming and logprob displays). */
  idToPiece(id: number): string;
}

