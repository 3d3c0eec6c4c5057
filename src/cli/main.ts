#!/usr/bin/env node
/**
 * The `llama-ts` command: `llama-ts <subcommand> [options]`. Each subcommand is one file in this
 * folder exporting `description` and `run(args)`; this dispatcher finds them by name.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface Command {
  description: string;
  run(args: string[]): Promise<number | void>;
}

const here = dirname(fileURLToPath(import.meta.url));

function commandNames(): string[] {
  return readdirSync(here)
    .filter((f) => f.endsWith('.js') && f !== 'main.js' && !f.startsWith('_'))
    .map((f) => f.slice(0, -3))
    .sort();
}

async function load(name: string): Promise<Command> {
  return (await import(pathToFileURL(join(here, `${name}.js`)).href)) as Command;
}

async function usage(): Promise<string> {
  const lines = ['usage: llama-ts <command> [options]   (llama-ts <command> --help for its options)', '', 'commands:'];
  for (const name of commandNames()) lines.push(`  ${name.padEnd(12)} ${(await load(name)).description}`);
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(await usage());
    return name ? 0 : 1;
  }
  if (!commandNames().includes(name)) {
    console.error(`llama-ts: unknown command '${name}'\n\n${await usage()}`);
    return 2;
  }
  const code = await (await load(name)).run(rest);
  return typeof code === 'number' ? code : 0;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    // Errors we raise carry a message that says what and where; print it without a stack
    // unless LLAMA_TS_DEBUG is set.
    const e = err as Error;
    console.error(`llama-ts: ${e?.message ?? String(err)}`);
    if (process.env.LLAMA_TS_DEBUG) console.error(e?.stack);
    process.exitCode = 1;
  },
);
