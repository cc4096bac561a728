/**
 * The `rear-hub` program: global options and every command module. A command module exports
 * `register(program: Command): void`; adding one is one import and one entry in COMMANDS.
 */
import { Command, CommanderError } from 'commander';
import { register as cancel } from './cancel.js';
import { register as contracts } from './contracts.js';
import { register as flavors } from './flavors.js';
import { register as publish } from './publish.js';
import { register as purchase } from './purchase.js';
import { register as refresh } from './refresh.js';
import { register as reserve } from './reserve.js';
import { register as serve } from './serve.js';
import { register as tokens } from './tokens.js';
import { register as watch } from './watch.js';
import { register as withdraw } from './withdraw.js';
import { EXIT } from './output.js';

/**
 * `rear-hub keys rotate [--db FILE]` (§12): cli/keys.ts keeps its own argument parser; this
 * hands it the arguments (and the global --json) and loads it only when it runs.
 */
function keys(program: Command): void {
  program
    .command('keys')
    .description('manage the contract signing keys (§12): keys rotate [--db FILE]')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]')
    .action(async (args: string[], _opts: unknown, cmd: Command) => {
      const { keysCommand } = await import('./keys.js');
      const json = cmd.optsWithGlobals<{ json?: boolean }>().json === true;
      process.exitCode = await keysCommand(json ? [...args, '--json'] : args, process.env);
    });
}

export const COMMANDS: ReadonlyArray<(program: Command) => void> = [
  serve,
  tokens,
  keys,
  flavors,
  watch,
  reserve,
  purchase,
  cancel,
  contracts,
  publish,
  refresh,
  withdraw,
];

export function program(): Command {
  const p = new Command('rear-hub')
    .description('The REAR hub: serve it, or use it from the command line.')
    .option('--url <url>', 'the hub (env REAR_URL; default http://127.0.0.1:5000)')
    .option('--token <token>', 'bearer token (env REAR_TOKEN)')
    .option('--json', "print the hub's JSON answers (watch: one JSON line per event)")
    .showHelpAfterError()
    .exitOverride((err: CommanderError) => {
      // Help and version end well; any other complaint about the command line is a usage error.
      process.exit(err.exitCode === 0 ? EXIT.OK : EXIT.USAGE);
    });
  for (const register of COMMANDS) register(p);
  return p;
}

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
