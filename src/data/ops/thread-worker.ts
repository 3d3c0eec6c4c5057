/**
 * Worker-thread entry: receives { config, job } messages, runs the job, answers with the marker
 * (or the error message). Progress is posted while a job runs.
 */
import { parentPort } from 'node:worker_threads';
import type { PipelineConfig } from './config.js';
import { runJob, type Job } from './job.js';

if (!parentPort) throw new Error('thread-worker.js must run in a worker thread');
const port = parentPort;
port.on('message', (msg: { id: number; config: PipelineConfig; job: Job }) => {
  runJob(msg.config, msg.job, (p) => port.postMessage({ id: msg.id, progress: p })).then(
    (marker) => port.postMessage({ id: msg.id, marker }),
    (e: unknown) => port.postMessage({ id: msg.id, error: (e as Error)?.stack ?? String(e) }),
  );
});
