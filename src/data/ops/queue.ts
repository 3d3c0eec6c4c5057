/**
 * Beyond one machine: the same jobs as BullMQ jobs on Redis. `runQueued` is the coordinator: it
 * enqueues wave 1 (one job per input), waits, enqueues wave 2 (global dedup, one job per source),
 * then the tokenize jobs, and starts `processes` local worker processes (`llama-ts data worker`);
 * workers on other machines join with the same command, given the same config and a shared
 * output folder (markers and shards are files there). Job ids are the job names, so enqueuing
 * twice is harmless, and finished jobs (marker present) are not enqueued again: a coordinator
 * restarted after a crash resumes. Failed jobs are retried (3 attempts) before the run fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents, Worker, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { PipelineConfig } from './config.js';
import { finalShards, jobName, mergedReport, readMarker, runJob, wave1Jobs, wave2Jobs, writeJsonAtomic, type Job, type Marker } from './job.js';
import { loadExtraStages } from './registry.js';
import { writeMixtureManifest } from './run.js';
import type { PipelineReport } from '../report.js';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';

export function parseRedisAddress(addr: string): { host: string; port: number } {
  const m = /^(?:redis:\/\/)?([^:/]+)(?::(\d+))?\/?$/.exec(addr.trim());
  if (!m) throw new Error(`--redis: expected HOST:PORT (e.g. 127.0.0.1:6379), got "${addr}"`);
  return { host: m[1]!, port: m[2] ? Number(m[2]) : 6379 };
}

/** Fails fast, with the address in the message, when Redis is not there. */
export async function checkRedis(addr: string, timeoutMs = 3000): Promise<void> {
  const { host, port } = parseRedisAddress(addr);
  const r = new Redis({ host, port, lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {}); // reported through connect()'s rejection below
  try {
    await r.connect();
    await r.ping();
  } catch (e) {
    throw new Error(`cannot reach Redis at ${host}:${port}: ${(e as Error).message}. Start redis-server (apt-get install redis-server) or pass the right --redis HOST:PORT`);
  } finally {
    r.disconnect();
  }
}

export function queueName(config: PipelineConfig): string {
  return 'llama-ts-data-' + createHash('sha1').update(config.output).digest('hex').slice(0, 12);
}

function connection(addr: string): ConnectionOptions {
  const { host, port } = parseRedisAddress(addr);
  return { host, port, maxRetriesPerRequest: null };
}

/** A worker process: runs jobs until SIGTERM/SIGINT. */
export async function runQueueWorker(config: PipelineConfig, redis: string, opts: { concurrency?: number } = {}): Promise<void> {
  await checkRedis(redis);
  await loadExtraStages();
  const worker = new Worker(queueName(config), async (job) => runJob(config, job.data as Job), { connection: connection(redis), concurrency: opts.concurrency ?? 1 });
  worker.on('failed', (job, err) => process.stderr.write(`[worker ${process.pid}] ${job?.name ?? '?'} failed: ${err.message}\n`));
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await worker.close();
}

export interface QueuedOptions {
  processes: number;
  log?: (s: string) => void;
  /** Command that starts one worker process (default: this package's CLI). */
  workerCommand?: { cmd: string; args: string[] };
}

export async function runQueued(config: PipelineConfig, redis: string, opts: QueuedOptions): Promise<{ report: PipelineReport; markers: Marker[] }> {
  const log = opts.log ?? ((s: string) => process.stderr.write(s + '\n'));
  await checkRedis(redis);
  await loadExtraStages();
  const conn = connection(redis);
  const name = queueName(config);
  const queue = new Queue(name, { connection: conn });
  const events = new QueueEvents(name, { connection: conn });
  await events.waitUntilReady();
  const children: ChildProcess[] = [];
  const cli = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
  const wc = opts.workerCommand ?? { cmd: process.execPath, args: [cli, 'data', 'worker', '--config', config.configPath, '--redis', redis] };
  for (let i = 0; i < opts.processes; i++) {
    const child = spawn(wc.cmd, wc.args, { stdio: ['ignore', 'inherit', 'inherit'] });
    children.push(child);
  }
  const all: Marker[] = [];
  try {
    const wave = async (label: string, jobs: Job[]) => {
      const pending: Job[] = [];
      for (const j of jobs) if (!(await readMarker(config, j))) pending.push(j);
      log(`[queue ${label}] ${jobs.length} job(s), ${jobs.length - pending.length} already done, ${pending.length} enqueued for ${opts.processes} local worker process(es)`);
      const added = await Promise.all(pending.map((j) => queue.add(jobName(config, j), j, { jobId: jobName(config, j).replace(/[:]/g, '_'), attempts: 3, backoff: { type: 'fixed', delay: 500 }, removeOnComplete: true, removeOnFail: false })));
      let done = 0;
      await Promise.all(added.map(async (job) => {
        await job.waitUntilFinished(events);
        done++;
        log(`[queue ${label}] ${done}/${added.length} ${job.name}`);
      }));
      for (const j of jobs) all.push((await readMarker(config, j))!);
    };
    await wave('wave1', wave1Jobs(config));
    await wave('wave2', wave2Jobs(config));
    if (config.mixture) {
      const finals = await finalShards(config);
      const tok: Job[] = [];
      config.sources.forEach((s, si) => { for (const shard of finals.get(s.name) ?? []) tok.push({ kind: 'tokenize', source: si, shard }); });
      await wave('tokenize', tok);
      await writeMixtureManifest(config, tok, log);
    }
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', r)))));
    await events.close();
    await queue.close();
  }
  const report = await mergedReport(config);
  await writeFile(join(config.output, 'report.txt'), report.toTable() + '\n');
  await writeJsonAtomic(join(config.output, 'report.json'), report.toJSON());
  return { report, markers: all };
}
