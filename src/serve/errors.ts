import type { ServerResponse } from 'node:http';

/** An error that becomes an OpenAI-style error object: {"error": {message, type, param, code}}. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = status >= 500 ? 'server_error' : 'invalid_request_error',
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

export function sendError(res: ServerResponse, err: unknown): void {
  const e = err instanceof ApiError ? err : new ApiError(500, `internal error: ${(err as Error)?.message ?? String(err)}`);
  const body = JSON.stringify({ error: { message: e.message, type: e.type, param: e.param, code: e.code } });
  if (res.headersSent) {
    res.end();
    return;
  }
  // a request whose body was not read to its end leaves the connection unusable: close it
  const close = e.status === 408 || e.status === 413;
  res.writeHead(e.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(close ? { connection: 'close' } : {}) });
  res.end(body, () => { if (close) res.socket?.destroy(); });
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
