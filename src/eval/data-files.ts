/**
 * Reading benchmark files with errors that name the file and line. Every loader goes through
 * here, so a missing or malformed dataset file always says where the problem is and what to do.
 */
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { isAbsolute, join, resolve } from 'node:path';

/** The environment variable that points at the benchmark data folder when --data-dir is not given. */
export const DATA_DIR_ENV = 'LLAMA_TS_EVAL_DATA';

export class DatasetError extends Error {
  constructor(readonly file: string, readonly line: number | null, detail: string) {
    super(`${file}${line !== null ? `:${line}` : ''}: ${detail}`);
    this.name = 'DatasetError';
  }
}

/** Resolves the data folder from an explicit option or the environment; never a built-in path. */
export function resolveDataDir(explicit?: string): string {
  const dir = explicit ?? process.env[DATA_DIR_ENV];
  if (!dir) {
    throw new Error(`no benchmark data folder: pass --data-dir DIR or set ${DATA_DIR_ENV} ` +
      `(the folder holding boolq/, piqa/, hellaswag/, ...)`);
  }
  const abs = isAbsolute(dir) ? dir : resolve(dir);
  if (!existsSync(abs)) throw new Error(`benchmark data folder ${abs} does not exist (from ${explicit ? '--data-dir' : DATA_DIR_ENV})`);
  return abs;
}

/** Reads a file as UTF-8 text (gunzipping *.gz), stripping a BOM; a missing file is a DatasetError. */
export function readText(dataDir: string, rel: string): { file: string; text: string } {
  const file = join(dataDir, rel);
  if (!existsSync(file)) throw new DatasetError(file, null, 'file not found; check --data-dir (or ' + DATA_DIR_ENV + ') points at the benchmark data folder');
  let buf = readFileSync(file);
  if (file.endsWith('.gz')) {
    try { buf = gunzipSync(buf); } catch (e) { throw new DatasetError(file, null, `not a valid gzip file (${(e as Error).message})`); }
  }
  let text = buf.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return { file, text };
}

/** Non-empty lines with their 1-based line numbers. */
export function readLines(dataDir: string, rel: string): { file: string; lines: { line: number; text: string }[] } {
  const { file, text } = readText(dataDir, rel);
  const lines: { line: number; text: string }[] = [];
  text.split('\n').forEach((t, i) => {
    const s = t.endsWith('\r') ? t.slice(0, -1) : t;
    if (s.trim() !== '') lines.push({ line: i + 1, text: s });
  });
  return { file, lines };
}

/** One JSON record per line (blank lines skipped), each with its line number; malformed JSON names the line. */
export function readJsonl<T>(dataDir: string, rel: string): { file: string; records: { line: number; value: T }[] } {
  const { file, lines } = readLines(dataDir, rel);
  const records = lines.map(({ line, text }) => {
    try { return { line, value: JSON.parse(text) as T }; } catch (e) {
      throw new DatasetError(file, line, `malformed JSON (${(e as Error).message})`);
    }
  });
  return { file, records };
}

/** Checks that `obj` has each field with the given typeof (or 'array'); throws naming the field. */
export function requireFields(file: string, line: number, obj: unknown, fields: Record<string, 'string' | 'number' | 'boolean' | 'array' | 'object'>): void {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new DatasetError(file, line, 'expected a JSON object');
  for (const [name, kind] of Object.entries(fields)) {
    const v = (obj as Record<string, unknown>)[name];
    const ok = kind === 'array' ? Array.isArray(v) : kind === 'object' ? typeof v === 'object' && v !== null && !Array.isArray(v) : typeof v === kind;
    if (!ok) throw new DatasetError(file, line, `field '${name}' should be ${kind === 'array' || kind === 'object' ? 'an' : 'a'} ${kind}, got ${v === undefined ? 'nothing' : JSON.stringify(v).slice(0, 60)}`);
  }
}

/**
 * RFC 4180 CSV (quoted cells may hold commas, doubled quotes and line breaks). Returns rows with
 * the line each starts on. `delimiter` '\t' with `quoting: false` reads plain TSV.
 */
export function parseDelimited(file: string, text: string, delimiter = ',', quoting = true): { line: number; cells: string[] }[] {
  const rows: { line: number; cells: string[] }[] = [];
  let cells: string[] = [];
  let cell = '';
  let line = 1;
  let rowLine = 1;
  let i = 0;
  let quoted = false;      // inside a quoted cell
  let wasQuoted = false;   // the current cell was quoted (only a delimiter or newline may follow)
  const endRow = () => {
    cells.push(cell);
    if (!(cells.length === 1 && cells[0] === '')) rows.push({ line: rowLine, cells });
    cells = []; cell = ''; wasQuoted = false;
  };
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') { cell += '"'; i += 2; continue; }
        quoted = false; wasQuoted = true; i++; continue;
      }
      if (c === '\n') line++;
      cell += c; i++; continue;
    }
    if (c === delimiter) { cells.push(cell); cell = ''; wasQuoted = false; i++; continue; }
    if (c === '\r' && text[i + 1] === '\n') { i++; continue; }
    if (c === '\n') { endRow(); line++; rowLine = line; i++; continue; }
    if (wasQuoted) throw new DatasetError(file, line, `malformed CSV: text after a closing quote (column ${cells.length + 1})`);
    if (quoting && c === '"' && cell === '') { quoted = true; i++; continue; }
    cell += c; i++;
  }
  if (quoted) throw new DatasetError(file, rowLine, 'malformed CSV: a quoted cell is never closed');
  if (cell !== '' || cells.length > 0) endRow();
  return rows;
}

export function readDelimited(dataDir: string, rel: string, delimiter = ',', quoting = true): { file: string; rows: { line: number; cells: string[] }[] } {
  const { file, text } = readText(dataDir, rel);
  return { file, rows: parseDelimited(file, text, delimiter, quoting) };
}

/** Throws a DatasetError unless a row has exactly `n` cells. */
export function requireCells(file: string, row: { line: number; cells: string[] }, n: number, what: string): void {
  if (row.cells.length !== n) throw new DatasetError(file, row.line, `expected ${n} ${what} cells, found ${row.cells.length}`);
}
