/** `llama-ts serve`: the OpenAI-compatible HTTP server with the chat and runs pages. */
import { parseArgs } from 'node:util';
import { randomInt } from 'node:crypto';
import { MODEL_HELP, MODEL_OPTIONS, loadModelFromArgs, numberOption } from '../inference/cli-options.js';
import { Sampler } from '../inference/sampling.js';
import type { SamplingOptions } from '../inference/types.js';
import { createLlamaServer } from '../serve/server.js';

export const description = 'serve a model over the OpenAI API, with chat and training-run pages';

const HELP = `usage: llama-ts serve --model PATH [options]

${MODEL_HELP}
  --port N             TCP port (default 8080; 0 = any free port)
  --host ADDR          address to listen on (default 127.0.0.1)
  --api-key KEY        require "Authorization: Bearer KEY" on /v1/* (default: env LLAMA_TS_API_KEY, else none)
  --cors ORIGIN        send Access-Control-Allow-Origin: ORIGIN (e.g. "*")
  --runs DIR           folder of training runs shown on /runs (default ./runs)
  --parallel N         requests decoded together (default 16)
  --queue N            requests waiting beyond those (default 64; more get HTTP 429)
  --max-tokens N       largest max_tokens a request may ask for (default: the context length)

Pages: / (chat), /runs (training curves and evaluation tables), /browser (the engine in the page).`;

/** Seeded per request (a random seed when the request gives none), as the OpenAI API's seed. */
export function makeChooser(opts: SamplingOptions): (row: Float32Array) => number {
  const sampler = new Sampler({ temperature: opts.temperature ?? 1, topK: opts.topK ?? 0, topP: opts.topP ?? 1 }, opts.seed ?? randomInt(2 ** 31));
  return (row) => sampler.sample(row);
}

export async function run(args: string[]): Promise<void> {
  const { values: v } = parseArgs({
    args,
    options: {
      ...MODEL_OPTIONS,
      port: { type: 'string' }, host: { type: 'string' }, 'api-key': { type: 'string' }, cors: { type: 'string' },
      runs: { type: 'string' }, parallel: { type: 'string' }, queue: { type: 'string' }, 'max-tokens': { type: 'string' },
    },
    strict: true,
  });
  if (v.help) { console.log(HELP); return; }
  const isInt = (x: number) => Number.isInteger(x);
  const port = numberOption(v.port, 'port', 8080, (x) => isInt(x) && x >= 0 && x < 65536, 'a port number');
  const parallel = numberOption(v.parallel, 'parallel', 16, (x) => isInt(x) && x >= 1, 'an integer >= 1');
  const queue = numberOption(v.queue, 'queue', 64, (x) => isInt(x) && x >= 0, 'an integer >= 0');
  const model = await loadModelFromArgs(v);
  const maxTokens = numberOption(v['max-tokens'], 'max-tokens', model.config.maxSeqLen, (x) => isInt(x) && x >= 1, 'an integer >= 1');
  const server = createLlamaServer({
    model, makeChooser, apiKey: v['api-key'] ?? process.env.LLAMA_TS_API_KEY, cors: v.cors, runsDir: v.runs ?? 'runs',
    maxActive: parallel, maxQueue: queue, limits: { maxTokens },
  });
  const url = await server.listen(port, v.host ?? '127.0.0.1');
  console.log(`llama-ts serve: ${model.name} at ${url}  (chat: ${url}/, runs: ${url}/runs, API: ${url}/v1)`);
  const stop = () => { void server.close().then(() => { model.dispose(); process.exit(0); }); };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await new Promise(() => {}); // serve until a signal
}
