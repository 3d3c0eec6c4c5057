/**
 * setImmediate for browser workers. The inference loop yields to the event loop with setImmediate
 * every few tokens (so a Stop message gets through); browsers lack it, and setTimeout(0) would be
 * clamped to 4 ms once nested. A MessageChannel message runs the callback as the next task.
 */
export function installSetImmediate(): void {
  const g = globalThis as unknown as { setImmediate?: (fn: () => void) => unknown };
  if (typeof g.setImmediate === 'function') return;
  const queue: (() => void)[] = [];
  const channel = new MessageChannel();
  channel.port1.onmessage = () => { queue.shift()?.(); };
  g.setImmediate = (fn: () => void) => { queue.push(fn); channel.port2.postMessage(0); return 0; };
}
