import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureSandbox, runSandboxed, SandboxUnavailableError } from '../../src/eval/sandbox.js';
import { humanEvalProgram, loadHumanEval, loadMbpp, mbppProgram } from '../../src/eval/tasks/code.js';

const FAST = { wallMs: 8000, cpuSeconds: 4 };

test('a program runs and its exit status decides pass/fail', async () => {
  assert.equal((await runSandboxed('print(1 + 1)', FAST)).stdout.trim(), '2');
  assert.equal((await runSandboxed('assert 1 == 2', FAST)).status, 'failed');
  assert.equal((await runSandboxed('raise SystemExit(0)', FAST)).status, 'passed');
});

test('network access is blocked', async () => {
  const r = await runSandboxed([
    'import socket',
    's = socket.socket(socket.AF_INET, socket.SOCK_STREAM)',
    's.settimeout(3)',
    'try:',
    '    s.connect(("1.1.1.1", 80))',
    '    print("CONNECTED")',
    'except OSError as e:',
    '    print("blocked", e.errno)',
    'print(socket.gethostbyname_ex(socket.gethostname())[2])',
  ].join('\n'), FAST);
  assert.ok(!r.stdout.includes('CONNECTED'));
  assert.match(r.stdout, /blocked/);
});

test('writes outside the private /tmp fail, and /tmp vanishes afterwards', async () => {
  const outside = mkdtempSync(join(tmpdir(), 'llama-ts-sbx-test-'));
  try {
    const target = join(outside, 'escaped.txt');
    const r = await runSandboxed([
      'import os',
      'for p in [' + JSON.stringify(target) + ', "/work/escaped.txt", "/root/escaped.txt", "/var/tmp/escaped.txt", "/etc/escaped"]:',
      '    try:',
      '        open(p, "w").write("x"); print("WROTE", p)',
      '    except OSError as e:',
      '        print("denied", p, e.errno)',
      'open("/tmp/inside.txt", "w").write("ok"); print(open("/tmp/inside.txt").read())',
    ].join('\n'), FAST);
    assert.equal(r.status, 'passed', r.stderr);
    assert.ok(!r.stdout.includes('WROTE'), r.stdout);
    assert.match(r.stdout, /ok$/m);
    assert.ok(!existsSync(target));
    assert.deepEqual(readdirSync(outside), []);
  } finally { rmSync(outside, { recursive: true, force: true }); }
});

test('an infinite loop is stopped by the CPU or wall limit, not hung', async () => {
  const start = Date.now();
  const r = await runSandboxed('while True:\n    pass', { wallMs: 4000, cpuSeconds: 2 });
  assert.notEqual(r.status, 'passed');
  assert.ok(Date.now() - start < 15_000);
});

test('a fork bomb is contained (process limit + wall timeout kills the group)', async () => {
  const start = Date.now();
  const r = await runSandboxed([
    'import os, time',
    'n = 0',
    'while True:',
    '    try:',
    '        if os.fork() == 0:',
    '            while True: time.sleep(1)',
    '        n += 1',
    '    except OSError:',
    '        print("limit reached after", n, flush=True)',
    '        time.sleep(60)',
  ].join('\n'), { wallMs: 4000, cpuSeconds: 4, maxProcesses: 16 });
  assert.equal(r.status, 'timeout');
  const m = /limit reached after (\d+)/.exec(r.stdout);
  assert.ok(m, `the process limit should stop forking: ${r.stdout} ${r.stderr}`);
  assert.ok(Number(m[1]) <= 64, `forked ${m[1]} processes`);
  assert.ok(Date.now() - start < 15_000);
});

test('memory is limited', async () => {
  const r = await runSandboxed('x = bytearray(3 << 30)\nprint("allocated")', { ...FAST, memoryBytes: 512 << 20 });
  assert.equal(r.status, 'failed');
  assert.match(r.stderr, /MemoryError/);
});

test('without a working bwrap, execution fails clearly instead of running unsandboxed', async () => {
  await assert.rejects(ensureSandbox({ bwrap: '/nonexistent/bwrap' }), (e: unknown) => e instanceof SandboxUnavailableError && /never run unsandboxed/.test((e as Error).message));
  await assert.rejects(runSandboxed('print(1)', { bwrap: '/nonexistent/bwrap' }), SandboxUnavailableError);
  await assert.rejects(ensureSandbox({ python: '/nonexistent/python3' }), /Python interpreter \/nonexistent\/python3 does not exist/);
});

test('reference solutions pass and wrong ones fail (HumanEval and MBPP program assembly)', async () => {
  const he = loadHumanEval('../shared/data').slice(0, 2);
  for (const d of he) {
    assert.equal((await runSandboxed(humanEvalProgram(d, d.canonical), FAST)).status, 'passed', d.id);
    assert.equal((await runSandboxed(humanEvalProgram(d, '    return None\n'), FAST)).status, 'failed', d.id);
  }
  const mb = loadMbpp('../shared/data').filter((d) => d.id === 11 || d.id === 12);
  for (const d of mb) {
    assert.equal((await runSandboxed(mbppProgram(d, d.code), FAST)).status, 'passed', String(d.id));
    assert.equal((await runSandboxed(mbppProgram(d, 'pass'), FAST)).status, 'failed', String(d.id));
  }
});
