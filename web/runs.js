// The runs page: plots a training run's JSON-lines log (loss, learning rate, throughput,
// evaluations over steps) with uPlot, and shows its evaluation reports as tables.
const $ = (id) => document.getElementById(id);
const charts = [];

// Which fields of the trainer's log (README, "Training logs") go on which chart:
// [title, [[field, label, colour], ...]]. Records of kind "train" carry the step's loss, lr,
// gradNorm, tokensPerSec and mfu; records of kind "eval" carry valLoss, valPpl and task scores.
const PANELS = [
  ['Loss', [['loss', 'train loss', '#6ea8fe'], ['valLoss', 'validation loss', '#ffa657']]],
  ['Learning rate', [['lr', 'learning rate', '#7ee787']]],
  ['Throughput (tokens/s)', [['tokensPerSec', 'tokens/s', '#d2a8ff']]],
  ['Gradient norm', [['gradNorm', 'grad norm', '#ff7b72']]],
  ['Model FLOPs utilisation', [['mfu', 'MFU', '#79c0ff']]],
];
const NOT_EVAL_SCORES = new Set(['step', 'valLoss', 'valPpl']);
const PALETTE = ['#6ea8fe', '#ffa657', '#7ee787', '#d2a8ff', '#ff7b72', '#79c0ff', '#f2cc60'];

function series(records, field) {
  const pts = records.filter((r) => typeof r[field] === 'number' && typeof r.step === 'number');
  return pts.map((r) => [r.step, r[field]]);
}

// uPlot wants one shared x array; align several (step, value) lists on the union of steps.
function align(lists) {
  const xs = [...new Set(lists.flatMap((l) => l.map((p) => p[0])))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = lists.map((l) => {
    const y = new Array(xs.length).fill(null);
    for (const [x, v] of l) y[index.get(x)] = v;
    return y;
  });
  return [xs, ...ys];
}

function plot(title, named) {
  const card = document.createElement('div');
  card.className = 'card';
  card.innerHTML = `<h3></h3>`;
  card.querySelector('h3').textContent = title;
  $('charts').appendChild(card);
  const width = Math.max(420, card.clientWidth - 30);
  const opts = {
    width, height: 240,
    scales: { x: { time: false } },
    axes: [
      { stroke: '#9aa3b2', grid: { stroke: '#2a2f3a' }, label: 'step' },
      { stroke: '#9aa3b2', grid: { stroke: '#2a2f3a' }, size: 60, values: (u, ticks) => ticks.map(tick) },
    ],
    series: [{ label: 'step' }, ...named.map(([, label, colour]) => ({ label, stroke: colour, width: 2, spanGaps: true, points: { show: false } }))],
  };
  charts.push(new uPlot(opts, align(named.map(([points]) => points)), card));
}

// task scores recorded during training (Figure 2 of the paper): numeric fields of eval records
function evalFields(records) {
  const fields = new Set();
  for (const r of records) {
    if (r.kind !== 'eval') continue;
    for (const k of Object.keys(r)) if (typeof r[k] === 'number' && !NOT_EVAL_SCORES.has(k)) fields.add(k);
  }
  return [...fields];
}

function reportTable(report) {
  const card = document.createElement('div');
  card.className = 'card';
  card.style.marginTop = '1rem';
  const h = document.createElement('h3');
  h.textContent = `Evaluation: ${report.file}`;
  card.appendChild(h);
  const table = document.createElement('table');
  const rows = report.rows ?? [];
  table.innerHTML = '<thead><tr><th>task</th><th>metric</th><th>value</th><th>± stderr</th><th>items</th></tr></thead>';
  const body = document.createElement('tbody');
  for (const r of rows) {
    const tr = document.createElement('tr');
    for (const v of [r.task, r.metric, fmt(r.value), r.stderr == null ? '' : fmt(r.stderr), r.n ?? '']) {
      const td = document.createElement('td');
      td.textContent = v;
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
  table.appendChild(body);
  card.appendChild(table);
  $('reports').appendChild(card);
}

// axis ticks: small values such as learning rates in exponent form, others plainly
const tick = (v) => (v !== 0 && Math.abs(v) < 0.01 ? v.toExponential(1) : String(+v.toPrecision(4)));
const fmt = (v) => (typeof v === 'number' ? (Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(4)) : String(v));

async function show(name) {
  for (const c of charts.splice(0)) c.destroy();
  $('charts').innerHTML = '';
  $('reports').innerHTML = '';
  const run = await (await fetch(`/api/runs/${encodeURIComponent(name)}`)).json();
  const records = run.log ?? [];
  const last = records.filter((r) => r.kind === 'train' && typeof r.loss === 'number').at(-1);
  $('summary').innerHTML = '';
  const lastVal = records.filter((r) => typeof r.valLoss === 'number').at(-1);
  const summary = [['step', last?.step], ['train loss', last?.loss?.toFixed(4)], ['validation loss', lastVal?.valLoss?.toFixed(4)],
    ['tokens/s', last?.tokensPerSec?.toFixed(0)], ['updated', run.updated]];
  for (const [k, v] of summary) {
    const s = document.createElement('span');
    s.innerHTML = `${k}: <b></b>`;
    s.querySelector('b').textContent = v ?? '—';
    $('summary').appendChild(s);
  }
  for (const [title, fields] of PANELS) {
    const named = fields.map(([f, label, colour]) => [series(records, f), label, colour]).filter(([pts]) => pts.length > 0);
    if (named.length) plot(title, named);
  }
  const evals = evalFields(records);
  if (evals.length) plot('Evaluations during training', evals.map((f, i) => [series(records, f), f, PALETTE[i % PALETTE.length]]));
  for (const report of run.reports ?? []) reportTable(report);
  if (!records.length) $('charts').innerHTML = '<div class="empty">This run has no log records yet.</div>';
  document.body.dataset.ready = 'true';
}

async function init() {
  const runs = (await (await fetch('/api/runs')).json()).data ?? [];
  if (!runs.length) {
    $('charts').innerHTML = '<div class="empty">No runs found. Start one with <code>llama-ts train</code>, or point <code>llama-ts serve --runs DIR</code> at a folder of runs.</div>';
    document.body.dataset.ready = 'true';
    return;
  }
  for (const r of runs) {
    const o = document.createElement('option');
    o.value = r.name;
    o.textContent = r.name;
    $('run').appendChild(o);
  }
  const wanted = new URLSearchParams(location.search).get('run');
  if (wanted) $('run').value = wanted;
  $('run').addEventListener('change', () => show($('run').value));
  await show($('run').value);
}
init();
