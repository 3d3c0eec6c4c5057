/**
 * Runs untrusted generated Python (HumanEval, MBPP) inside Debian's bubblewrap:
 *  - no network (--unshare-net), own PID/IPC/UTS namespaces, killed with its parent;
 *  - the root file system read-only; a private tmpfs on /tmp (the working directory, holding a
 *    read-only copy of the program) is the only writable place, and it vanishes afterwards;
 *  - CPU-time, address-space, file-size and process-count limits (prlimit); when we run as
 *    root the program also drops to uid/gid 65534 (so the process limit counts only its own
 *    processes);
 *  - a wall-clock timeout that SIGKILLs the whole process group (and with it the PID namespace).
 * If bwrap is missing or cannot create its namespaces, we fail with a clear error: generated
 * code is never run unsandboxed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SandboxOptions {
  bwrap?: string;
  python?: string;
  /** CPU seconds (RLIMIT_CPU). */
  cpuSeconds?: number;
  /** Address-space limit in bytes (RLIMIT_AS). */
  memoryBytes?: number;
  /** Wall-clock limit in ms. */
  wallMs?: number;
  /** Extra processes the program may create. */
  maxProcesses?: number;
  /** Largest file it may write, bytes (RLIMIT_FSIZE). */
  maxFileBytes?: number;
}

export interface ExecResult {
  status: 'passed' | 'failed' | 'timeout';
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  wallMs: number;
}

const DEFAULTS = {
  bwrap: process.env.LLAMA_TS_BWRAP ?? 'bwrap',
  python: process.env.LLAMA_TS_SANDBOX_PYTHON ?? '/usr/bin/python3',
  cpuSeconds: 10,
  memoryBytes: 1 << 30,
  wallMs: 20_000,
  maxProcesses: 32,
  maxFileBytes: 16 << 20,
};
const OUTPUT_LIMIT = 64 * 1024;

export class SandboxUnavailableError extends Error {
  constructor(detail: string) {
    super(`cannot execute generated code: ${detail}. Code execution needs bubblewrap ('apt-get install bubblewrap' on Debian/Ubuntu, and user namespaces enabled); generated programs are never run unsandboxed.`);
    this.name = 'SandboxUnavailableError';
  }
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Processes our uid already runs: RLIMIT_NPROC counts them too, so a non-root limit is relative to it. */
function processesOfUid(uid: number): number {
  let n = 0;
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try { if (statSync(`/proc/${e}`).uid === uid) n++; } catch { /* exited */ }
  }
  return n;
}

function commandLine(o: Required<SandboxOptions>, hostProgram: string): string[] {
  let nproc = o.maxProcesses;
  if (!isRoot && typeof process.getuid === 'function') nproc += processesOfUid(process.getuid());
  const args = [
    '--unshare-net', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try', '--die-with-parent', '--new-session',
    '--ro-bind', '/', '/',
    '--dev', '/dev', '--proc', '/proc',
    '--perms', '1777', '--tmpfs', '/tmp', '--ro-bind', hostProgram, '/tmp/program.py', '--chdir', '/tmp',
    '--clearenv', '--setenv', 'PATH', '/usr/bin:/bin', '--setenv', 'HOME', '/tmp', '--setenv', 'PYTHONDONTWRITEBYTECODE', '1',
    '--',
  ];
  const drop = isRoot ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'] : [];
  const limits = ['prlimit', `--cpu=${o.cpuSeconds}`, `--as=${o.memoryBytes}`, `--nproc=${nproc}`, `--fsize=${o.maxFileBytes}`, '--'];
  return [...args, ...drop, ...limits, o.python, '-I', '/tmp/program.py'];
}

/** One trial run per (bwrap, python) pair and process. */
const checked = new Map<string, Promise<void>>();

/** Verifies once per process that bwrap works here; throws SandboxUnavailableError otherwise. */
export function ensureSandbox(opts: SandboxOptions = {}): Promise<void> {
  const o = { ...DEFAULTS, ...opts };
  const key = `${o.bwrap}\0${o.python}`;
  let p = checked.get(key);
  if (!p) {
    p = (async () => {
      const v = spawnSync(o.bwrap, ['--version'], { encoding: 'utf8' });
      if (v.error || v.status !== 0) throw new SandboxUnavailableError(`'${o.bwrap}' is not installed or not runnable (${v.error?.message ?? v.stderr.trim()})`);
      if (!existsSync(o.python)) throw new SandboxUnavailableError(`the Python interpreter ${o.python} does not exist (set LLAMA_TS_SANDBOX_PYTHON to a python3 path)`);
      for (const tool of ['/usr/bin/prlimit', '/usr/bin/setpriv']) {
        if (!existsSync(tool) && !existsSync(tool.replace('/usr/bin/', '/bin/'))) throw new SandboxUnavailableError(`${tool} (util-linux) is missing; the sandbox uses it to set limits`);
      }
      const r = await runSandboxed('print(6*7)', { ...opts, wallMs: 15_000 }, true);
      if (r.status !== 'passed' || r.stdout.trim() !== '42') {
        throw new SandboxUnavailableError(`a trial run in bwrap failed (exit ${r.exitCode}, ${r.signal ?? 'no signal'}): ${r.stderr.trim().slice(0, 300)}`);
      }
    })();
    checked.set(key, p);
    p.catch(() => { checked.delete(key); });
  }
  return p;
}

/** Runs `program` (Python source) sandboxed; 'passed' = exit status 0. */
export async function runSandboxed(program: string, opts: SandboxOptions = {}, skipCheck = false): Promise<ExecResult> {
  if (!skipCheck) await ensureSandbox(opts);
  const o = { ...DEFAULTS, ...opts } as Required<SandboxOptions>;
  const dir = mkdtempSync(join(tmpdir(), 'llama-ts-sandbox-'));
  const file = join(dir, 'program.py');
  writeFileSync(file, program, { mode: 0o644 });
  const start = Date.now();
  try {
    return await new Promise<ExecResult>((resolve, reject) => {
      // detached: the sandbox gets its own process group, which the timeout kills as a whole.
      const child = spawn(o.bwrap, commandLine(o, file), { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      child.stdout.on('data', (d: Buffer) => { if (stdout.length < OUTPUT_LIMIT) stdout += d.toString('utf8'); });
      child.stderr.on('data', (d: Buffer) => { if (stderr.length < OUTPUT_LIMIT) stderr += d.toString('utf8'); });
      const timer = setTimeout(() => {
        timedOut = true;
        try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ }
      }, o.wallMs);
      child.on('error', (e) => { clearTimeout(timer); reject(new SandboxUnavailableError(`could not start '${o.bwrap}': ${e.message}`)); });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        // Kill stragglers in the group (normally none: the PID namespace dies with its init).
        try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* none left */ }
        const status = timedOut ? 'timeout' : code === 0 ? 'passed' : 'failed';
        resolve({ status, exitCode: code, signal, stdout: stdout.slice(0, OUTPUT_LIMIT), stderr: stderr.slice(0, OUTPUT_LIMIT), wallMs: Date.now() - start });
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
