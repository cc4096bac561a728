#!/usr/bin/env node
/**
 * The `rear-hub` command (§14). Without a command it serves, so `npm start -- [flags]` runs
 * the hub exactly as `rear-hub serve [flags]` does. Each command lives in its own module
 * under cli/ and is registered in cli/commands.ts.
 */
import { program, withDefaultCommand } from './cli/commands.js';

const p = program();
await p.parseAsync(
  withDefaultCommand(
    process.argv.slice(2),
    p.commands.map((c) => c.name()),
  ),
  { from: 'user' },
);
