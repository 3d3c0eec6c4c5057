/**
 * Turns generated token ids into text deltas for streaming. Each step decodes the whole
 * continuation (after the last prompt token, so a leading "▁" becomes the space it stands for)
 * and hands out only text that can no longer change:
 *   - a trailing U+FFFD may be the first bytes of a UTF-8 character split across byte-fallback
 *     tokens, so it is held until the next token completes (or replaces) it;
 *   - text that could be the start of a stop string is held until it is clearly not one.
 * When a stop string appears, the text ends just before it and the stop string is never emitted.
 */
import type { TextTokenizer } from './types.js';

export class TextStream {
  private readonly ids: number[] = [];
  private emitted = '';
  private readonly prefixText: string;
  private readonly maxStop: number;
  /** Set once a stop string was found: the final text, cut before it. */
  stoppedText: string | null = null;

  constructor(private readonly tok: TextTokenizer, private readonly prefixId: number | null, private readonly stops: readonly string[]) {
    this.prefixText = prefixId === null ? '' : tok.decode([prefixId]);
    this.maxStop = stops.reduce((m, s) => Math.max(m, s.length), 0);
  }

  /** The decoded continuation so far. */
  text(): string {
    if (this.prefixId === null) return this.tok.decode(this.ids);
    const all = this.tok.decode([this.prefixId, ...this.ids]);
    return all.startsWith(this.prefixText) ? all.slice(this.prefixText.length) : this.tok.decode(this.ids);
  }

  /** Adds a token; returns the text it releases ('' while held back). */
  push(id: number): string {
    this.ids.push(id);
    const full = this.text();
    const from = Math.max(0, this.emitted.length - this.maxStop);
    let cut = -1;
    for (const s of this.stops) {
      if (!s) continue;
      const i = full.indexOf(s, from);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      this.stoppedText = full.slice(0, cut);
      return this.release(this.stoppedText, this.stoppedText.length);
    }
    let safe = full.length;
    while (safe > this.emitted.length && full.charCodeAt(safe - 1) === 0xfffd) safe--;
    // hold back the longest tail that is a proper prefix of a stop string
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, safe); k > 0; k--) {
        if (full.slice(safe - k, safe) === s.slice(0, k)) { safe = Math.min(safe, safe - k); break; }
      }
    }
    return this.release(full, safe);
  }

  /** Everything not yet handed out (at the end of generation). */
  flush(): string {
    const full = this.stoppedText ?? this.text();
    return this.release(full, full.length);
  }

  private release(full: string, upTo: number): string {
    if (upTo <= this.emitted.length || !full.startsWith(this.emitted)) return '';
    const delta = full.slice(this.emitted.length, upTo);
    this.emitted = full.slice(0, upTo);
    return delta;
  }

  get emittedText(): string { return this.emitted; }
}
