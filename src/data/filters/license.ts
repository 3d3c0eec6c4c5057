/**
 * Licence classification of a repository's LICENSE/COPYING file, for the paper's GitHub rule
 * "we only kept projects that are distributed under the Apache, BSD and MIT licenses".
 * We match the licences' operative sentences (not their titles alone, which GPL files also quote),
 * and check copyleft markers first so "GPL with an MIT-like exception" is not taken as MIT.
 */

export type LicenseKind = 'mit' | 'apache-2.0' | 'bsd-3-clause' | 'bsd-2-clause' | 'gpl' | 'lgpl' | 'agpl' | 'mpl' | 'other';

export const PERMISSIVE: ReadonlySet<LicenseKind> = new Set(['mit', 'apache-2.0', 'bsd-3-clause', 'bsd-2-clause']);

const norm = (s: string) => s.replace(/[\s*#/;-]+/g, ' ').toLowerCase();

export function classifyLicense(text: string): LicenseKind {
  const t = norm(text);
  if (t.includes('gnu affero general public license')) return 'agpl';
  if (t.includes('gnu lesser general public license') || t.includes('gnu library general public license')) return 'lgpl';
  if (t.includes('gnu general public license')) return 'gpl';
  if (t.includes('mozilla public license')) return 'mpl';
  if (t.includes('apache license') && /version 2\.0/.test(t)) return 'apache-2.0';
  if (t.includes('permission is hereby granted, free of charge, to any person obtaining a copy')) return 'mit';
  if (t.includes('redistribution and use in source and binary forms, with or without modification, are permitted')) {
    return /neither the name of|the names? of (?:its|the) contributors may (?:not )?be used/.test(t) ? 'bsd-3-clause' : 'bsd-2-clause';
  }
  const spdx = /spdx license identifier: ?([a-z0-9.+-]+)/.exec(t);
  if (spdx) {
    const id = spdx[1]!;
    if (id === 'mit') return 'mit';
    if (id === 'apache 2.0' || id === 'apache-2.0') return 'apache-2.0';
    if (id.startsWith('bsd-3')) return 'bsd-3-clause';
    if (id.startsWith('bsd-2')) return 'bsd-2-clause';
  }
  return 'other';
}

/** File names that hold a repository's licence. */
export const LICENSE_FILE = /^(?:licen[cs]e|copying|unlicense)(?:[._-][\w.-]*)?$/i;
