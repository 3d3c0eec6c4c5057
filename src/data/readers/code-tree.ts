/**
 * Source-code trees (a checkout of one repository, or a folder of repositories): one Doc per
 * source file, with the licence of the nearest LICENSE/COPYING file above it (meta.license, as
 * classified by filters/license.ts), the repository-relative path and the extension. Binary
 * files (a NUL byte in the first 8 KiB), files over `maxBytes` and VCS/vendor folders are skipped.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, extname, join, relative } from 'node:path';
import type { BadRecordSink, Doc } from '../document.js';
import { decodeUtf8 } from '../io/byte-source.js';
import { LICENSE_FILE, PERMISSIVE, classifyLicense, type LicenseKind } from '../filters/license.js';

const SKIP_DIRS = new Set(['.git', '.hg', '.svn', 'node_modules', '__pycache__', '.venv', 'venv', 'dist', 'build', 'target', '.idea', '.vscode']);

export interface CodeTreeOptions { source?: string; maxBytes?: number; repo?: string }

export async function* readCodeTree(root: string, sink: BadRecordSink, opts: CodeTreeOptions = {}): AsyncGenerator<Doc> {
  const maxBytes = opts.maxBytes ?? 1 << 20;
  const repo = opts.repo ?? basename(root);
  const source = opts.source ?? 'github';
  async function* walk(dir: string, inherited: { kind: LicenseKind; file: string } | null): AsyncGenerator<Doc> {
    let entries;
    try {
      entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch (e) {
      sink.bad('code', { reason: 'unreadable-dir', where: dir, detail: (e as Error).message });
      return;
    }
    // A licence file here overrides the parent's; with several (LICENSE-MIT + LICENSE-APACHE),
    // a permissive one wins, as the project may be used under it.
    let license = inherited;
    let found: { kind: LicenseKind; file: string } | null = null;
    for (const e of entries) {
      if (!e.isFile() || !LICENSE_FILE.test(e.name)) continue;
      const text = decodeUtf8(await readFile(join(dir, e.name)));
      if (text === null) continue;
      const kind = classifyLicense(text);
      const here = { kind, file: relative(root, join(dir, e.name)) };
      if (!found || (!PERMISSIVE.has(found.kind) && PERMISSIVE.has(kind))) found = here;
    }
    if (found) license = found;
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) yield* walk(p, license);
        continue;
      }
      if (!e.isFile() || LICENSE_FILE.test(e.name)) continue;
      const bytes = await readFile(p);
      if (bytes.length > maxBytes) continue;
      if (bytes.subarray(0, 8192).includes(0)) continue; // binary
      const text = decodeUtf8(bytes);
      const rel = relative(root, p).split(/[\\/]/).join('/');
      if (text === null) {
        sink.bad('code', { reason: 'invalid-utf8', where: p });
        continue;
      }
      yield { id: `${repo}/${rel}`, text, source, meta: { repo, path: rel, ext: extname(e.name).slice(1).toLowerCase(), license: license?.kind ?? 'none', licenseFile: license?.file } };
    }
  }
  yield* walk(root, null);
}
