/**
 * What every client command shares: the global options (`--url`, `--token`, `--json`, each
 * also from REAR_URL / REAR_TOKEN) and a client built from them.
 */
import type { Command } from 'commander';
import WebSocket from 'ws';
import { RearHub, type RestOptions } from '../client/index.js';
import { report, UsageError } from './output.js';

export interface GlobalOptions {
  url?: string;
  token?: string;
  json?: boolean;
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

export function hubFor(cmd: Command, over: Partial<RestOptions> = {}): RearHub {
  const o = globals(cmd);
  const token = o.token ?? process.env.REAR_TOKEN;
  if (!token) throw new UsageError('a token is needed: --token TOKEN or REAR_TOKEN');
  return new RearHub({
    url: o.url ?? process.env.REAR_URL ?? 'http://127.0.0.1:5000',
    token,
    WebSocket,
    ...over,
  });
}

/**
 * Wraps a command's action: runs it, and on an error writes its code and sets the exit code
 * of its class. The process then ends on its own once nothing is left open.
 */
export function action(
  run: (args: unknown[], cmd: Command) => Promise<number | void>,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    try {
      const code = await run(args.slice(0, -1), cmd);
      process.exitCode = code ?? 0;
    } catch (err) {
      process.exitCode = report(err, globals(cmd).json === true);
    }
  };
}

/** Parses a JSON option, as a usage error if it is not JSON. */
export function jsonOption<T>(name: string, text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new UsageError(`${name} must be JSON, got ${text}`);
  }
}
