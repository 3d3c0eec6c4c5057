// The in-browser engine page: hands the chosen file to the engine worker (dist/web, built by
// scripts/build-web.mjs from src/web/) and shows its progress and streamed tokens. All the compute
// happens in the worker: nothing is sent to the server.
const $ = (id) => document.getElementById(id);
const fmtBytes = (n) => n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(2)} GiB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(0)} KiB`;

const isolated = globalThis.crossOriginIsolated === true;
const cores = navigator.hardwareConcurrency || 1;
$('isolation').textContent = isolated ? `cross-origin isolated · ${cores} cores` : 'not isolated · 1 thread';
$('isolation').className = `badge ${isolated ? 'ok' : 'warn'}`;
$('isolation').title = isolated
  ? 'SharedArrayBuffer is available: the kernels run on Web Workers sharing the WebAssembly memory'
  : 'Without COOP/COEP headers the page has no SharedArrayBuffer, so the engine runs on one thread';

let engine = null;
let loaded = null;
let running = false;
let genSpan = null;
let firstTokenAt = 0; // ms from Generate to the first token: the live rate counts decoding only

function showError(msg) { $('error').textContent = msg; }

function startEngine() {
  engine?.terminate();
  engine = new Worker('/static/engine/lib/engine/engine-worker.js', { type: 'module', name: 'llama-ts engine' });
  engine.onmessage = (e) => onEngine(e.data);
  engine.onerror = (e) => {
    e.preventDefault();
    showError(`The engine failed to start: ${e.message || 'its script could not be loaded'} (is dist/web built? run \`npm run build\`)`);
    setRunning(false);
  };
}

function setRunning(on) {
  running = on;
  $('generate').disabled = on || !loaded;
  $('stop').disabled = !on;
  $('file').disabled = on;
  $('output').dataset.state = on ? 'running' : 'idle';
}

function info(pairs) {
  $('info').replaceChildren(...pairs.map(([k, v]) => {
    const d = document.createElement('div');
    const dt = document.createElement('dt'); dt.textContent = k;
    const dd = document.createElement('dd'); dd.textContent = v;
    d.append(dt, dd);
    return d;
  }));
}

function stats(pairs) {
  $('stats').replaceChildren(...pairs.map(([k, v]) => {
    const s = document.createElement('span');
    const b = document.createElement('b'); b.textContent = v;
    s.append(`${k} `, b);
    return s;
  }));
}

function onEngine(m) {
  switch (m.type) {
    case 'progress': {
      const label = { start: 'Starting', read: 'Reading', weights: 'Loading weights' }[m.phase];
      $('progress').max = m.total || 1;
      $('progress').value = m.done;
      $('progress-text').textContent = m.phase === 'read'
        ? `${label} ${m.what}: ${fmtBytes(m.done)} of ${fmtBytes(m.total)}`
        : `${label}: ${m.what}${m.total > 1 ? ` (${m.done}/${m.total})` : ''}`;
      break;
    }
    case 'loaded': {
      loaded = m.info;
      const i = m.info;
      $('progress').value = $('progress').max;
      $('progress-text').textContent = `Loaded ${i.name} in ${(i.loadMs / 1000).toFixed(2)} s`;
      $('model').textContent = `${i.name} · ${i.backend}`;
      info([
        ['file', `${i.name} (${fmtBytes(i.fileBytes)})`], ['weights', i.weightTypes],
        ['layers × dim', `${i.nLayers} × ${i.dim}`], ['heads (kv)', `${i.nHeads} (${i.nKvHeads})`],
        ['vocabulary', String(i.vocabSize)], ['context', String(i.contextLength)],
        ['backend', i.backend], ['threads', String(i.threads)],
      ]);
      $('info').dataset.threads = String(i.threads);
      $('info').dataset.backend = i.backend;
      setRunning(false);
      break;
    }
    case 'token': {
      if (genSpan && m.text) genSpan.append(m.text);
      const n = m.index + (m.id >= 0 ? 1 : 0);
      if (m.id >= 0 && m.index === 0) firstTokenAt = m.elapsedMs;
      const rate = n > 1 ? (n - 1) / ((m.elapsedMs - firstTokenAt) / 1000) : 0;
      stats([['tokens', String(n)], ['speed', n > 1 ? `${rate.toFixed(1)} tokens/s` : '…'], ['elapsed', `${(m.elapsedMs / 1000).toFixed(2)} s`]]);
      break;
    }
    case 'done': {
      const s = m.stats;
      $('output').dataset.text = m.text;
      stats([
        ['speed', `${s.tokensPerSec.toFixed(1)} tokens/s`], ['first token', `${s.firstTokenMs.toFixed(0)} ms`],
        ['prompt', `${s.promptTokens} tokens`], ['generated', `${s.generatedTokens} tokens`], ['finish', s.finishReason],
        ['threaded kernel calls', `${s.parallelCalls} of ${s.parallelCalls + s.serialCalls}`],
      ]);
      Object.assign($('stats').dataset, { tokensPerSec: String(s.tokensPerSec), parallelCalls: String(s.parallelCalls), finish: s.finishReason });
      setRunning(false);
      $('output').dataset.state = 'done';
      break;
    }
    case 'error':
      showError(m.phase === 'load' ? `Could not load the model: ${m.message}` : `Generation failed: ${m.message}`);
      if (m.phase === 'load') {
        loaded = null;
        $('model').textContent = 'no model loaded';
        $('progress').value = 0;
        $('progress-text').textContent = '';
        info([]);
      }
      setRunning(false);
      $('output').dataset.state = 'error';
      break;
  }
}

// One file: a GGUF model (or a training checkpoint). Two: the model and a SentencePiece
// tokenizer.model — a training checkpoint (.ckpt) carries no vocabulary of its own.
function pickFiles(files) {
  if (files.length > 2) throw new Error(`choose one model file (and at most one tokenizer.model), not ${files.length} files`);
  const tokenizers = files.filter((f) => f.name.endsWith('.model'));
  const models = files.filter((f) => !f.name.endsWith('.model'));
  if (models.length !== 1) {
    throw new Error(models.length ? 'two model files were chosen: choose one (and its tokenizer.model)' : 'only a tokenizer was chosen: choose the model file (.gguf or .ckpt) together with it');
  }
  return { model: models[0], tokenizer: tokenizers[0] };
}

$('file').addEventListener('change', () => {
  const files = [...$('file').files];
  if (!files.length) return;
  showError('');
  let pick;
  try {
    pick = pickFiles(files);
  } catch (e) {
    showError(`Could not load the model: ${e.message}`);
    return;
  }
  loaded = null;
  info([]);
  delete $('info').dataset.threads;
  setRunning(true);
  $('output').dataset.state = 'loading';
  startEngine(); // a fresh worker: the previous model's memory goes with the old one
  engine.postMessage({
    type: 'load', file: pick.model, name: pick.model.name, threads: Number($('threads').value),
    tokenizer: pick.tokenizer ? { file: pick.tokenizer, name: pick.tokenizer.name } : undefined,
  });
});

function numberField(id, integer) {
  const el = $(id);
  const v = Number(el.value);
  if (el.value.trim() === '' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
    throw new Error(`${id.replace('-', ' ')}: '${el.value}' is not ${integer ? 'an integer' : 'a number'}`);
  }
  return v;
}

$('generate').addEventListener('click', () => {
  if (!loaded || running) return;
  let sampling;
  try {
    sampling = {
      temperature: numberField('temperature', false), topK: numberField('top-k', true), topP: numberField('top-p', false),
      maxTokens: numberField('max-tokens', true), seed: numberField('seed', true),
    };
  } catch (e) {
    showError(e.message);
    return;
  }
  showError('');
  const prompt = $('prompt').value;
  const p = document.createElement('span'); p.className = 'prompt'; p.textContent = prompt;
  genSpan = document.createElement('span'); genSpan.className = 'gen';
  $('output').replaceChildren(p, genSpan);
  delete $('output').dataset.text;
  stats([]);
  setRunning(true);
  engine.postMessage({ type: 'generate', prompt, addBos: $('bos').checked, sampling });
});

$('stop').addEventListener('click', () => engine?.postMessage({ type: 'stop' }));
