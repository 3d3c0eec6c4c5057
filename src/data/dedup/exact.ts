/**
 * Exact deduplication: a document whose content hash was seen before is dropped
 * (`exact-duplicate`, detail = the id that was kept). Used for GitHub's "exact file dedup" and
 * anywhere byte-identical copies occur. The seen-set is pluggable: in memory for one process, or
 * a Redis set (ops/redis-dedup.ts) so workers on many machines share it.
 */
import { createHash } from 'node:crypto';
import type { Doc, Stage, StageResult } from '../document.js';
import { drop } from '../document.js';
import { FlatHashSet } from '../ccnet/hash-set.js';

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

/**
 * A seen-set of 64-bit content fingerprints in a flat open-addressing table (CCNet's FlatHashSet):
 * ~16 bytes per document instead of ~150 for a Map of keys and ids, for corpus-scale second waves.
 * It cannot name the first copy; the drop detail says so. With 64-bit fingerprints the expected
 * number of colliding pairs is n²/2^65: 0.03 for a billion documents.
 */
export class CompactSeenStore implements SeenStore {
  private readonly set = new FlatHashSet(1 << 16);
  firstSeen(key: string): string | null {
    const b = Buffer.from(key, 'base64url');
    const lo = b.readUInt32LE(0) || 1; // 0/0 marks an empty slot in the table
    const hi = b.readUInt32LE(4);
    return this.set.add(lo, hi) ? 'an earlier document (compact store keeps no ids)' : null;
  }
  get size(): number {
    return this.set.size;
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
