/**
 * Runs jobs on a pool of worker threads (one job per thread at a time). With one worker the jobs
 * run on the main thread, which keeps stack traces simple and avoids a thread for tiny runs.
 */
import { Worker } from 'node:worker_threads';
import type { PipelineConfig } from './config.js';
import { runJob, type Job, type Marker, type Progress } from './job.js';

export interface PoolEvents {
  onStart?(job: Job): void;
  onDone?(job: Job, marker: Marker): void;
  onProgress?(p: Progress): void;
}

export async function runJobsInPool(config: PipelineConfig, jobs: Job[], threads: number, ev: PoolEvents = {}): Promise<Marker[]> {
  const results: Marker[] = new Array(jobs.length);
  if (threads <= 1 || jobs.length <= 1) {
    for (let i = 0; i < jobs.length; i++) {
      ev.onStart?.(jobs[i]!);
      results[i] = await runJob(config, jobs[i]!, ev.onProgress);
      ev.onDone?.(jobs[i]!, results[i]!);
    }
    return results;
  }
  const n = Math.min(threads, jobs.length);
  const url = new URL('./thread-worker.js', import.meta.url);
  let next = 0;
  let failed: Error | null = null;
  const workers: Worker[] = [];
  const runOn = (w: Worker) =>
    new Promise<void>((resolve) => {
      const take = () => {
        if (failed || next >= jobs.length) return resolve();
        const id = next++;
        ev.onStart?.(jobs[id]!);
        w.postMessage({ id, config, job: jobs[id] });
      };
      w.on('message', (m: { id: number; marker?: Marker; error?: string; progress?: Progress }) => {
        if (m.progress) return ev.onProgress?.(m.progress);
        if (m.error) {
          failed ??= new Error(`job ${JSON.stringify(jobs[m.id])} failed: ${m.error}`);
          return resolve();
        }
        results[m.id] = m.marker!;
        ev.onDone?.(jobs[m.id]!, m.marker!);
        take();
      });
      w.on('error', (e) => {
        failed ??= e;
        resolve();
      });
      take();
    });
  try {
    const runs: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const w = new Worker(url);
      workers.push(w);
      runs.push(runOn(w));
    }
    await Promise.all(runs);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  if (failed) throw failed;
  return results;
}
