import type { ServerResponse } from 'node:http';

/**
 * Server-sent events for streaming responses. A client that stops reading (its socket buffer
 * stays full past the limit) is dropped rather than letting its backlog grow without bound.
 */
export class SseStream {
  private closed = false;

  constructor(private readonly res: ServerResponse, private readonly maxBacklogBytes = 1 << 20) {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.on('close', () => { this.closed = true; });
  }

  send(value: unknown): void {
    if (this.closed) return;
    this.res.write(`data: ${JSON.stringify(value)}\n\n`);
    if (this.res.writableLength > this.maxBacklogBytes) {
      this.closed = true;
      this.res.destroy(new Error('client is not reading the stream'));
    }
  }

  /** An error after the stream started: sent as an event, then the stream ends. */
  error(message: string, type = 'server_error'): void {
    this.send({ error: { message, type, param: null, code: null } });
    this.done();
  }

  done(): void {
    if (this.closed) return;
    this.res.write('data: [DONE]\n\n');
    this.close();
  }

  close(): void {
    this.closed = true;
    if (!this.res.writableEnded) this.res.end();
  }
}
