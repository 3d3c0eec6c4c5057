/**
 * The HTTP server: the OpenAI API (/v1/models, /v1/completions, /v1/chat/completions), the web
 * pages (chat, runs, in-browser engine) and the runs API they read. node:http, no framework: the
 * routes are few, and streaming + disconnect handling need the raw response anyway.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { LoadedModel, SamplingOptions } from '../inference/types.js';
import { readJsonBody } from './body.js';
import { ApiError, sendError, sendJson } from './errors.js';
import { chatCompletions, completions, type Limits, type OpenAiContext } from './openai.js';
import { RunStore } from './runs.js';
import { Scheduler, type TokenChooser } from './scheduler.js';
import { serveStatic } from './static.js';

export interface ServeOptions {
  model: LoadedModel;
  modelId?: string;
  makeChooser: (opts: SamplingOptions) => TokenChooser;
  apiKey?: string;              // when set, /v1/* requires "Authorization: Bearer <key>"
  cors?: string;                // Access-Control-Allow-Origin value, e.g. "*"
  runsDir?: string;             // folder of training runs for the runs page
  maxActive?: number;           // requests decoded together
  maxQueue?: number;
  maxBodyBytes?: number;
  bodyTimeoutMs?: number;
  limits?: Partial<Limits>;
}

export interface LlamaServer {
  server: Server;
  scheduler: Scheduler;
  listen(port: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

export function createLlamaServer(o: ServeOptions): LlamaServer {
  const scheduler = new Scheduler(o.model, { maxActive: o.maxActive ?? 16, maxQueue: o.maxQueue ?? 64, prefillChunk: 128 });
  const ctx: OpenAiContext = {
    model: o.model,
    modelId: o.modelId ?? o.model.name,
    scheduler,
    makeChooser: o.makeChooser,
    limits: { maxTokens: o.limits?.maxTokens ?? scheduler.contextLength, defaultMaxTokens: o.limits?.defaultMaxTokens ?? 256 },
  };
  const runs = new RunStore(o.runsDir ?? 'runs');
  const maxBody = o.maxBodyBytes ?? 4 << 20;
  const bodyTimeout = o.bodyTimeoutMs ?? 30_000;

  const authorized = (req: IncomingMessage): boolean => {
    if (!o.apiKey) return true;
    const got = Buffer.from(String(req.headers.authorization ?? ''));
    const want = Buffer.from(`Bearer ${o.apiKey}`);
    return got.length === want.length && timingSafeEqual(got, want);
  };

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (o.cors) {
      res.setHeader('access-control-allow-origin', o.cors);
      res.setHeader('access-control-allow-headers', 'authorization, content-type');
      res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
    }
    if (req.method === 'OPTIONS') { res.writeHead(204); res.end(); return; }
    if (path.startsWith('/v1/')) {
      if (!authorized(req)) throw new ApiError(401, 'missing or invalid API key: send "Authorization: Bearer <key>"', 'authentication_error', null, 'invalid_api_key');
      if (path === '/v1/models' && req.method === 'GET') {
        return sendJson(res, 200, { object: 'list', data: [{ id: ctx.modelId, object: 'model', created: 0, owned_by: 'llama-ts' }] });
      }
      const handler = path === '/v1/completions' ? completions : path === '/v1/chat/completions' ? chatCompletions : null;
      if (!handler) throw new ApiError(404, `unknown endpoint ${req.method} ${path}`, 'not_found_error');
      if (req.method !== 'POST') throw new ApiError(405, `${path} takes POST, not ${req.method}`);
      if (!String(req.headers['content-type'] ?? '').includes('application/json')) {
        throw new ApiError(415, `${path} takes a JSON body: send "Content-Type: application/json"`);
      }
      const body = await readJsonBody(req, maxBody, bodyTimeout);
      return handler(ctx, body, req, res);
    }
    if (path === '/api/runs' && req.method === 'GET') return sendJson(res, 200, { data: runs.list() });
    if (path.startsWith('/api/runs/') && req.method === 'GET') return sendJson(res, 200, runs.get(decodeURIComponent(path.slice('/api/runs/'.length))));
    if (path === '/health') return sendJson(res, 200, { status: 'ok', ...scheduler.load });
    if (req.method === 'GET' && serveStatic(path, res)) return;
    throw new ApiError(404, `not found: ${path}`, 'not_found_error');
  }

  const server = createServer((req, res) => {
    route(req, res).catch((err) => sendError(res, err));
  });
  server.requestTimeout = 0; // streams may be long; body reads have their own deadline
  server.headersTimeout = 30_000;

  return {
    server,
    scheduler,
    listen: (port, host = '127.0.0.1') => new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        const a = server.address();
        resolve(typeof a === 'object' && a ? `http://${host}:${a.port}` : String(a));
      });
    }),
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
