/**
 * The distributed run: a real redis-server started on a free loopback port, the pipeline run as
 * BullMQ jobs by several worker processes, compared with the single-process run. If redis-server
 * is not installed this test FAILS with the reason (CI must install it), it does not skip.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseConfig } from '../../src/data/ops/config.js';
import { runPipeline } from '../../src/data/ops/run.js';
import { runQueued, checkRedis } from '../../src/data/ops/queue.js';
import { makeRunDir } from './run-fixture.js';
import { tempDir } from './helpers.js';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

async function startRedis(t: { after(fn: () => Promise<void> | void): void }): Promise<string> {
  const which = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (which.error) assert.fail(`redis-server is not installed (${which.error.message}); install it (apt-get install -y redis-server) to run the distributed-pipeline test`);
  const port = await freePort();
  const proc: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  t.after(async () => {
    proc.kill('SIGTERM');
    if (proc.exitCode === null) await new Promise((r) => proc.once('exit', r));
  });
  const addr = `127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      await checkRedis(addr, 500);
      return addr;
    } catch (e) {
      if (i > 50) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function outputs(out: string): Map<string, string> {
  const m = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.jsonl.gz')) m.set(p.slice(out.length + 1), gunzipSync(readFileSync(p)).toString().split(join(out, '..')).join('<run>'));
    }
  };
  walk(out);
  return m;
}

test('BullMQ on Redis: 3 worker processes give the same shards and report as one process', { timeout: 120_000 }, async (t) => {
  const redis = await startRedis(t);
  const local = tempDir(t);
  const queued = tempDir(t);
  const lc = makeRunDir(local);
  const qc = makeRunDir(queued);
  const localRun = await runPipeline(parseConfig(JSON.parse(readFileSync(lc, 'utf8')), lc), { log: () => {} });
  const lines: string[] = [];
  const q = await runQueued(parseConfig(JSON.parse(readFileSync(qc, 'utf8')), qc), redis, { processes: 3, log: (s) => lines.push(s) });
  assert.ok(lines.some((l) => /\[queue wave1\] 8 job\(s\), 0 already done, 8 enqueued for 3 local worker process/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /\[queue wave2\] 2 job\(s\)/.test(l)));
  const a = outputs(join(local, 'out'));
  const b = outputs(join(queued, 'out'));
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
  for (const [k, v] of a) assert.equal(b.get(k), v, k);
  const strip = (r: unknown) => JSON.parse(JSON.stringify(r, (k, v) => (k === 'ms' ? 0 : typeof v === 'string' ? v.split(local).join('<run>').split(queued).join('<run>') : v)));
  assert.deepEqual(strip(q.report.toJSON()), strip(localRun.report.toJSON()));
  // Running again enqueues nothing: every job has its marker.
  const again: string[] = [];
  await runQueued(parseConfig(JSON.parse(readFileSync(qc, 'utf8')), qc), redis, { processes: 1, log: (s) => again.push(s) });
  assert.ok(again.some((l) => /\[queue wave1\] 8 job\(s\), 8 already done, 0 enqueued/.test(l)), again.join('\n'));
});

test('an unreachable Redis is a clear error, not a hang', async () => {
  const port = await freePort();
  await assert.rejects(checkRedis(`127.0.0.1:${port}`, 1000), new RegExp(`cannot reach Redis at 127\\.0\\.0\\.1:${port}.*redis-server`));
});
