// The chat page: keeps the conversation, streams the reply from /v1/chat/completions (SSE).
const $ = (id) => document.getElementById(id);
const history = [];

fetch('/v1/models').then((r) => r.json()).then((j) => { $('model').textContent = j.data?.[0]?.id ?? ''; });

function bubble(role, text) {
  const div = document.createElement('div');
  div.className = `msg ${role}`;
  div.textContent = text;
  $('messages').appendChild(div);
  div.scrollIntoView({ block: 'end' });
  return div;
}

async function* sseEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const event = buf.slice(0, i);
      buf = buf.slice(i + 2);
      for (const line of event.split('\n')) if (line.startsWith('data: ')) yield line.slice(6);
    }
  }
}

async function send(text) {
  history.push({ role: 'user', content: text });
  bubble('user', text);
  const out = bubble('assistant', '');
  out.classList.add('streaming');
  $('send').disabled = true;
  const t0 = performance.now();
  let tokens = 0;
  let reply = '';
  try {
    const seed = $('seed').value === '' ? undefined : Number($('seed').value);
    const res = await fetch('/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        messages: history, stream: true, seed,
        temperature: Number($('temperature').value), max_tokens: Number($('max-tokens').value),
      }),
    });
    if (!res.ok) throw new Error((await res.json()).error?.message ?? res.statusText);
    for await (const data of sseEvents(res)) {
      if (data === '[DONE]') break;
      const chunk = JSON.parse(data);
      if (chunk.error) throw new Error(chunk.error.message);
      const delta = chunk.choices?.[0]?.delta?.content;
      if (delta) { reply += delta; tokens++; out.textContent = reply; out.scrollIntoView({ block: 'end' }); }
    }
    const secs = (performance.now() - t0) / 1000;
    const meta = document.createElement('span');
    meta.className = 'meta';
    meta.textContent = `${tokens} tokens · ${(tokens / secs).toFixed(1)} tokens/s`;
    out.appendChild(meta);
    history.push({ role: 'assistant', content: reply });
  } catch (e) {
    out.className = 'msg error';
    out.textContent = `error: ${e.message}`;
    history.pop();
  } finally {
    out.classList.remove('streaming');
    out.dataset.done = 'true';
    $('send').disabled = false;
  }
}

$('composer').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('input').value.trim();
  if (!text) return;
  $('input').value = '';
  send(text);
});
$('input').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); $('composer').requestSubmit(); }
});
