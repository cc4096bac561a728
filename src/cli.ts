#!/usr/bin/env node
/**
 * The `rear-hub` command (§14). Without a command it serves, so `npm start -- [flags]` runs
 * the hub exactly as `rear-hub serve [flags]` does. Each command lives in its own module
 * under cli/ and is registered in cli/commands.ts.
 */
import { program } from './cli/commands.js';

const GLOBAL_WITH_VALUE = new Set(['--url', '--token']);

/** The argv to parse: `serve` is put in front unless a command is named (after global options). */
export function withDefaultCommand(argv: string[], commands: string[]): string[] {
  let i = 0;
  while (i < argv.length) {
    const a = argv[i] as string;
    if (GLOBAL_WITH_VALUE.has(a)) i += 2;
    else if (a === '--json' || /^--(url|token)=/.test(a)) i += 1;
    else break;
  }
  const named = argv[i];
  return named !== undefined && (commands.includes(named) || named === 'help')
    ? argv
    : ['serve', ...argv];
}

const p = program();
await p.parseAsync(
  withDefaultCommand(
    process.argv.slice(2),
    p.commands.map((c) => c.name()),
  ),
  { from: 'user' },
);
