/**
 * Exact deduplication: a document whose content hash was seen before is dropped
 * (`exact-duplicate`, detail = the id that was kept). Used for GitHub's "exact file dedup" and
 * anywhere byte-identical copies occur. The seen-set is pluggable: in memory for one process, or
 * a Redis set (ops/redis-dedup.ts) so workers on many machines share it.
 */
import { createHash } from 'node:crypto';
import type { Doc, Stage, StageResult } from '../document.js';
import { drop } from '../document.js';

export interface SeenStore {
  /** Records `key` → `id`; returns null if new, else the id recorded first. */
  firstSeen(key: string, id: string): string | null | Promise<string | null>;
}

export class MemorySeenStore implements SeenStore {
  private readonly seen = new Map<string, string>();
  firstSeen(key: string, id: string): string | null {
    const prior = this.seen.get(key);
    if (prior !== undefined) return prior;
    this.seen.set(key, id);
    return null;
  }
  get size(): number {
    return this.seen.size;
  }
}

export type ExactNormalization = 'none' | 'whitespace';

export function contentKey(text: string, normalization: ExactNormalization = 'none'): string {
  const t = normalization === 'whitespace' ? text.replace(/\s+/g, ' ').trim() : text;
  // 128 bits of SHA-256: collisions are out of reach at any corpus size.
  return createHash('sha256').update(t).digest('base64url').slice(0, 22);
}

export function exactDedupStage(store: SeenStore = new MemorySeenStore(), normalization: ExactNormalization = 'none'): Stage {
  return {
    name: 'exact-dedup',
    async process(doc: Doc): Promise<StageResult> {
      const r = store.firstSeen(contentKey(doc.text, normalization), doc.id);
      const prior = r instanceof Promise ? await r : r;
      return prior === null ? doc : drop('exact-duplicate', `same content as ${prior}`);
    },
  };
}
