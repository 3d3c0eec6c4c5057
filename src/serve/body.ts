import type { IncomingMessage } from 'node:http';
import { ApiError } from './errors.js';

/**
 * Reads a JSON request body with a size limit and a deadline (a slow client cannot hold a
 * connection forever): 413 when too large, 408 when too slow, 400 when not JSON.
 */
export function readJsonBody(req: IncomingMessage, maxBytes: number, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > maxBytes) {
      reject(new ApiError(413, `request body of ${declared} bytes exceeds the limit of ${maxBytes} bytes`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err: ApiError | null, value?: unknown) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) reject(err); else resolve(value);
    };
    // on 408/413 the error response is still sent; sendError closes the connection after it
    const timer = setTimeout(() => finish(new ApiError(408, `request body not received within ${timeoutMs} ms`)), timeoutMs);
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) {
        finish(new ApiError(413, `request body exceeds the limit of ${maxBytes} bytes`));
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('error', () => finish(new ApiError(400, 'request body could not be read')));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return finish(new ApiError(400, 'request body is empty: expected a JSON object'));
      try {
        finish(null, JSON.parse(text));
      } catch (e) {
        finish(new ApiError(400, `request body is not valid JSON: ${(e as Error).message}`));
      }
    });
  });
}
