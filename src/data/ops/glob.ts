/**
 * Input path expansion: `*` and `?` wildcards in any path segment (`**` = any depth). Node 20 has
 * no fs.glob. Results are sorted, so job numbering — and hence output — is deterministic.
 */
import { readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';

function segmentRegex(seg: string): RegExp {
  return new RegExp('^' + seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
}

export function expandGlob(pattern: string, baseDir: string): string[] {
  const abs = isAbsolute(pattern) ? pattern : resolve(baseDir, pattern);
  if (!/[*?]/.test(abs)) return [abs];
  const parts = abs.split(sep);
  let current: string[] = [parts[0] === '' ? sep : parts[0]!];
  for (const part of parts.slice(1)) {
    if (part === '') continue;
    const next: string[] = [];
    for (const dir of current) {
      if (!/[*?]/.test(part)) {
        next.push(join(dir, part));
        continue;
      }
      const walk = (d: string, deep: boolean) => {
        let names: string[];
        try {
          names = readdirSync(d).sort();
        } catch {
          return;
        }
        for (const n of names) {
          const p = join(d, n);
          if (part === '**') {
            next.push(p);
            try {
              if (statSync(p).isDirectory()) walk(p, true);
            } catch { /* vanished */ }
          } else if (segmentRegex(part).test(n)) next.push(p);
        }
        void deep;
      };
      if (part === '**') next.push(dir);
      walk(dir, part === '**');
    }
    current = next;
  }
  return [...new Set(current)].filter((p) => {
    try {
      statSync(p);
      return true;
    } catch {
      return false;
    }
  }).sort();
}
