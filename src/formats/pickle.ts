/**
 * The part of Python's pickle that torch.save's data.pkl uses (protocols 2-4), read without
 * Python and without executing anything: GLOBAL/REDUCE build inert descriptions, and only the
 * constructors a checkpoint needs are understood (torch._utils._rebuild_tensor_v2,
 * _rebuild_parameter, collections.OrderedDict). Storages arrive through persistent ids
 * ('storage', <torch.XStorage>, key, location, numel). And a writer for the same subset.
 */

export interface PickleGlobal { kind: 'global'; module: string; name: string }
export interface PickleObject { kind: 'object'; cls: PickleGlobal; args: unknown[]; state?: unknown }
export interface StorageRef { kind: 'storage'; storageType: string; key: string; location: string; numel: number }
export interface TensorRef {
  kind: 'tensor';
  storage: StorageRef;
  storageOffset: number;
  shape: number[];
  stride: number[];
}

const isGlobal = (x: unknown, module: string, name: string): boolean =>
  typeof x === 'object' && x !== null && (x as PickleGlobal).kind === 'global' &&
  (x as PickleGlobal).module === module && (x as PickleGlobal).name === name;

class Mark { }
const MARK = new Mark();

/** Unpickles torch's data.pkl into plain values: Map for dicts, arrays for lists/tuples, TensorRef for tensors. */
export function unpickle(bytes: Uint8Array, where: string): unknown {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  const dec = new TextDecoder('utf-8', { ignoreBOM: true });
  let p = 0;
  const fail = (msg: string, at = p): never => { throw new Error(`${where}: ${msg} at byte ${at} of the pickle`); };
  const need = (n: number) => { if (p + n > bytes.length) fail(`truncated pickle (needs ${n} more bytes)`); };
  const popMark = (): unknown[] => {
    for (let i = stack.length - 1; i >= 0; i--) {
      if (stack[i] === MARK) { const items = stack.slice(i + 1); stack.length = i; return items; }
    }
    return fail('MARK not found');
  };
  const pop = () => { if (!stack.length) fail('stack underflow'); return stack.pop(); };
  const top = () => { if (!stack.length) fail('stack underflow'); return stack[stack.length - 1]; };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, p);
    if (end < 0) fail('unterminated GLOBAL line');
    const s = dec.decode(bytes.subarray(p, end));
    p = end + 1;
    return s;
  };
  const setItems = (d: unknown, items: unknown[]) => {
    if (!(d instanceof Map)) fail('SETITEMS on a non-dict');
    for (let i = 0; i + 1 < items.length; i += 2) (d as Map<unknown, unknown>).set(items[i], items[i + 1]);
  };
  const reduce = (fn: unknown, args: unknown[]): unknown => {
    if (isGlobal(fn, 'torch._utils', '_rebuild_tensor_v2') || isGlobal(fn, 'torch._utils', '_rebuild_tensor')) {
      const [storage, storageOffset, shape, stride] = args as [StorageRef, number, number[], number[]];
      if ((storage as StorageRef)?.kind !== 'storage') fail('_rebuild_tensor_v2 without a storage');
      return { kind: 'tensor', storage, storageOffset, shape, stride } satisfies TensorRef;
    }
    if (isGlobal(fn, 'torch._utils', '_rebuild_parameter')) return args[0];
    if (isGlobal(fn, 'collections', 'OrderedDict')) return new Map();
    if (isGlobal(fn, 'builtins', 'set') || isGlobal(fn, '__builtin__', 'set')) return args[0];
    return { kind: 'object', cls: fn as PickleGlobal, args } satisfies PickleObject;
  };
  for (;;) {
    need(1);
    const at = p;
    const op = bytes[p++];
    switch (op) {
      case 0x80: need(1); p++; break;                                   // PROTO
      case 0x95: need(8); p += 8; break;                                // FRAME
      case 0x2e: return pop();                                          // STOP '.'
      case 0x28: stack.push(MARK); break;                               // MARK '('
      case 0x7d: stack.push(new Map()); break;                          // EMPTY_DICT '}'
      case 0x5d: stack.push([]); break;                                 // EMPTY_LIST ']'
      case 0x29: stack.push([]); break;                                 // EMPTY_TUPLE ')'
      case 0x4e: stack.push(null); break;                               // NONE 'N'
      case 0x88: stack.push(true); break;                               // NEWTRUE
      case 0x89: stack.push(false); break;                              // NEWFALSE
      case 0x4b: need(1); stack.push(bytes[p]); p += 1; break;          // BININT1 'K'
      case 0x4d: need(2); stack.push(dv.getUint16(p, true)); p += 2; break; // BININT2 'M'
      case 0x4a: need(4); stack.push(dv.getInt32(p, true)); p += 4; break;  // BININT 'J'
      case 0x8a: {                                                      // LONG1
        need(1); const n = bytes[p++]; need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[p + i]);
        if (n > 0 && bytes[p + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        p += n;
        stack.push(Number(v));
        break;
      }
      case 0x47: need(8); stack.push(dv.getFloat64(p, false)); p += 8; break; // BINFLOAT 'G' (big endian)
      case 0x58: { need(4); const n = dv.getUint32(p, true); p += 4; need(n); stack.push(dec.decode(bytes.subarray(p, p + n))); p += n; break; } // BINUNICODE
      case 0x8c: { need(1); const n = bytes[p++]; need(n); stack.push(dec.decode(bytes.subarray(p, p + n))); p += n; break; } // SHORT_BINUNICODE
      case 0x54: { need(4); const n = dv.getInt32(p, true); p += 4; need(n); stack.push(dec.decode(bytes.subarray(p, p + n))); p += n; break; } // BINSTRING
      case 0x55: { need(1); const n = bytes[p++]; need(n); stack.push(dec.decode(bytes.subarray(p, p + n))); p += n; break; } // SHORT_BINSTRING
      case 0x42: { need(4); const n = dv.getUint32(p, true); p += 4; need(n); stack.push(bytes.slice(p, p + n)); p += n; break; } // BINBYTES
      case 0x43: { need(1); const n = bytes[p++]; need(n); stack.push(bytes.slice(p, p + n)); p += n; break; } // SHORT_BINBYTES
      case 0x71: need(1); memo.set(bytes[p++], top()); break;           // BINPUT 'q'
      case 0x72: need(4); memo.set(dv.getUint32(p, true), top()); p += 4; break; // LONG_BINPUT 'r'
      case 0x94: memo.set(memo.size, top()); break;                     // MEMOIZE
      case 0x68: { need(1); const k = bytes[p++]; if (!memo.has(k)) fail(`BINGET of unknown memo ${k}`, at); stack.push(memo.get(k)); break; } // BINGET
      case 0x6a: { need(4); const k = dv.getUint32(p, true); p += 4; if (!memo.has(k)) fail(`LONG_BINGET of unknown memo ${k}`, at); stack.push(memo.get(k)); break; }
      case 0x63: { const module = line(); const name = line(); stack.push({ kind: 'global', module, name } satisfies PickleGlobal); break; } // GLOBAL 'c'
      case 0x93: { const name = pop() as string; const module = pop() as string; stack.push({ kind: 'global', module, name }); break; } // STACK_GLOBAL
      case 0x74: stack.push(popMark()); break;                          // TUPLE 't'
      case 0x85: stack.push([pop()]); break;                            // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push([a, b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push([a, b, c]); break; } // TUPLE3
      case 0x6c: stack.push(popMark()); break;                          // LIST 'l'
      case 0x61: { const v = pop(); (top() as unknown[]).push(v); break; } // APPEND 'a'
      case 0x65: { const items = popMark(); (top() as unknown[]).push(...items); break; } // APPENDS 'e'
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM 's'
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS 'u'
      case 0x64: { const items = popMark(); const m = new Map(); setItems(m, items); stack.push(m); break; } // DICT 'd'
      case 0x52: { const args = pop() as unknown[]; const fn = pop(); stack.push(reduce(fn, args)); break; } // REDUCE 'R'
      case 0x81: { const args = pop() as unknown[]; const cls = pop(); stack.push(reduce(cls, args)); break; } // NEWOBJ
      case 0x62: {                                                      // BUILD 'b'
        const state = pop();
        const obj = top();
        if (obj && typeof obj === 'object' && (obj as PickleObject).kind === 'object') (obj as PickleObject).state = state;
        break;
      }
      case 0x51: {                                                      // BINPERSID 'Q'
        const pid = pop() as unknown[];
        if (!Array.isArray(pid) || pid[0] !== 'storage') fail(`unsupported persistent id ${JSON.stringify(pid)}`, at);
        const st = pid[1] as PickleGlobal;
        stack.push({ kind: 'storage', storageType: st.name, key: String(pid[2]), location: String(pid[3]), numel: Number(pid[4]) } satisfies StorageRef);
        break;
      }
      default:
        fail(`unsupported pickle opcode 0x${op.toString(16)} — not a torch.save checkpoint?`, at);
    }
  }
}

// ---------------------------------------------------------------- writing (protocol 2)

export interface TensorToPickle {
  name: string;
  storageType: 'FloatStorage' | 'HalfStorage' | 'BFloat16Storage';
  key: string;
  shape: readonly number[];
}

/**
 * data.pkl for a state dict {name: tensor}: each tensor is contiguous in its own storage
 * `data/<key>`, rebuilt by torch._utils._rebuild_tensor_v2 as torch.save writes it.
 */
export function pickleStateDict(tensors: readonly TensorToPickle[]): Uint8Array {
  const out: number[] = [];
  const enc = new TextEncoder();
  const op = (...b: number[]) => out.push(...b);
  const u32 = (v: number) => op(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  const str = (s: string) => { const b = enc.encode(s); op(0x58); u32(b.length); out.push(...b); };
  const int = (v: number) => {
    if (v >= 0 && v < 256) op(0x4b, v);
    else if (v >= 0 && v < 65536) op(0x4d, v & 0xff, v >>> 8);
    else if (v >= -0x80000000 && v < 0x80000000) { op(0x4a); u32(v); }
    else { // LONG1, 8 bytes little endian two's complement
      op(0x8a, 8);
      let b = BigInt.asUintN(64, BigInt(v));
      for (let i = 0; i < 8; i++) { op(Number(b & 0xffn)); b >>= 8n; }
    }
  };
  const global = (module: string, name: string) => { op(0x63); out.push(...enc.encode(`${module}\n${name}\n`)); };
  op(0x80, 2);            // PROTO 2
  op(0x7d);               // EMPTY_DICT
  op(0x28);               // MARK
  for (const t of tensors) {
    str(t.name);
    global('torch._utils', '_rebuild_tensor_v2');
    op(0x28);                                         // MARK (args)
    op(0x28); str('storage'); global('torch', t.storageType); str(t.key); str('cpu');
    int(t.shape.reduce((a, b) => a * b, 1)); op(0x74); op(0x51); // TUPLE, BINPERSID
    int(0);                                           // storage offset
    op(0x28); t.shape.forEach(int); op(0x74);         // size
    const stride: number[] = [];
    let s = 1;
    for (let i = t.shape.length - 1; i >= 0; i--) { stride[i] = s; s *= t.shape[i]; }
    op(0x28); stride.forEach(int); op(0x74);          // stride
    op(0x89);                                         // requires_grad False
    global('collections', 'OrderedDict'); op(0x29); op(0x52); // backward hooks: OrderedDict()
    op(0x74);                                         // TUPLE (args)
    op(0x52);                                         // REDUCE
  }
  op(0x75);               // SETITEMS
  op(0x2e);               // STOP
  return Uint8Array.from(out);
}
