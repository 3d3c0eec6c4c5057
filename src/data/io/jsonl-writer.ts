/**
 * Sharded JSONL(.gz) document writer. Each shard is written to a hidden temporary file and
 * renamed into place when complete, so a reader (or a resumed run) never sees a torn shard.
 * Lines are `{"id","source","text","meta"}` (readers/jsonl.ts reads them back unchanged).
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { once } from 'node:events';
import { createGzip, type Gzip } from 'node:zlib';
import type { Doc } from '../document.js';

export interface ShardWriterOptions {
  dir: string;
  /** Shard file name prefix; shards are `<prefix>-00000.jsonl[.gz]`. */
  prefix: string;
  gzip?: boolean;
  /** Start a new shard after this many documents (default 50,000) ... */
  maxDocs?: number;
  /** ... or this many uncompressed bytes (default 256 MB). */
  maxBytes?: number;
}

export function docToJsonLine(doc: Doc): string {
  return JSON.stringify({ id: doc.id, source: doc.source, text: doc.text, meta: doc.meta }) + '\n';
}

class OneShard {
  private readonly file: WriteStream;
  private readonly gz: Gzip | null;
  readonly tmp: string;
  docs = 0;
  bytes = 0;

  constructor(readonly path: string, gzip: boolean) {
    this.tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
    this.file = createWriteStream(this.tmp);
    this.gz = gzip ? createGzip({ level: 6 }) : null;
    if (this.gz) this.gz.pipe(this.file);
  }

  async write(line: string): Promise<void> {
    const target = this.gz ?? this.file;
    this.docs++;
    this.bytes += Buffer.byteLength(line);
    if (!target.write(line)) await once(target, 'drain');
  }

  async close(): Promise<void> {
    if (this.gz) this.gz.end();
    else this.file.end();
    await once(this.file, 'close');
    await rename(this.tmp, this.path);
  }

  async abort(): Promise<void> {
    this.gz?.destroy();
    const closed = this.file.closed ? Promise.resolve() : once(this.file, 'close');
    this.file.destroy();
    await closed;
    await unlink(this.tmp).catch(() => {});
  }
}

export class ShardedJsonlWriter {
  private current: OneShard | null = null;
  private index = 0;
  readonly shards: string[] = [];
  private readonly maxDocs: number;
  private readonly maxBytes: number;

  constructor(private readonly opts: ShardWriterOptions) {
    this.maxDocs = opts.maxDocs ?? 50_000;
    this.maxBytes = opts.maxBytes ?? 256e6;
  }

  shardPath(i: number): string {
    return join(this.opts.dir, `${this.opts.prefix}-${String(i).padStart(5, '0')}.jsonl${this.opts.gzip === false ? '' : '.gz'}`);
  }

  async write(doc: Doc): Promise<void> {
    if (!this.current) {
      await mkdir(this.opts.dir, { recursive: true });
      this.current = new OneShard(this.shardPath(this.index++), this.opts.gzip !== false);
    }
    await this.current.write(docToJsonLine(doc));
    if (this.current.docs >= this.maxDocs || this.current.bytes >= this.maxBytes) await this.finishShard();
  }

  private async finishShard(): Promise<void> {
    if (!this.current) return;
    await this.current.close();
    this.shards.push(this.current.path);
    this.current = null;
  }

  /** Completes the open shard. */
  async close(): Promise<string[]> {
    await this.finishShard();
    return this.shards;
  }

  /** Removes the open shard's temporary file (completed shards stay). */
  async abort(): Promise<void> {
    await this.current?.abort();
    this.current = null;
  }
}
