/**
 * `rear-hub tokens add --role R --node-id ID --domain D [--ip IP] [--tokens FILE]` (§11):
 * appends a tokenHash entry to a tokens file and prints the new token — once: the file keeps
 * only its SHA-256, so it holds no secret and the token cannot be shown again.
 */
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Command } from 'commander';
import type { Role } from '../domain/principal.js';
import { lazyValidator } from '../schemas.js';
import { newToken, readTokens, tokenHash } from '../tokens.js';
import type { HashedTokenEntry, TokenEntry } from '../types/wire.js';

export const ROLES: readonly Role[] = ['consumer', 'provider', 'admin'];
export const DEFAULT_TOKENS_FILE = './data/tokens.json';

export interface TokensAddOptions {
  role: string;
  nodeId: string;
  domain: string;
  ip?: string | undefined;
  /** Tokens file to append to (created when missing); REAR_TOKENS, else ./data/tokens.json. */
  tokens?: string | undefined;
}

export class TokensUsageError extends Error {}

const validEntry = lazyValidator<TokenEntry>('TokenEntry');

/** Appends the entry and returns the new token; `print` shows it (stdout by default). */
export async function tokensAdd(
  opts: TokensAddOptions,
  print: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Promise<string> {
  if (!(ROLES as readonly string[]).includes(opts.role))
    throw new TokensUsageError(`--role must be one of ${ROLES.join(', ')}, got "${opts.role}"`);
  const file = opts.tokens || process.env.REAR_TOKENS || DEFAULT_TOKENS_FILE;
  const entries: TokenEntry[] = existsSync(file) ? readTokens(file) : [];
  const token = newToken(opts.nodeId.replace(/[^\w-]/g, '').slice(0, 24) || 'rear');
  const entry: HashedTokenEntry = {
    tokenHash: tokenHash(token),
    role: opts.role as Role,
    identity: { Domain: opts.domain, NodeID: opts.nodeId, IP: opts.ip ?? '' },
  };
  if (!validEntry(entry)) {
    const e = validEntry.errors?.[0];
    throw new TokensUsageError(`invalid entry: ${e?.instancePath ?? ''} ${e?.message ?? ''}`);
  }
  // Written beside the file and renamed over it: a crash leaves the old file or the new one.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify([...entries, entry], null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
  print(token);
  return token;
}

const USAGE =
  'Usage: rear-hub tokens add --role consumer|provider|admin --node-id ID --domain D [--ip IP] [--tokens FILE]';

/** `tokens add …` from argv (after `tokens`), for the entry point as it is today. */
export function parseTokensArgs(argv: string[]): TokensAddOptions | undefined {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h') return undefined;
  if (sub !== 'add') throw new TokensUsageError(`unknown tokens command "${sub ?? ''}"\n${USAGE}`);
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      strict: true,
      options: {
        role: { type: 'string' },
        'node-id': { type: 'string' },
        domain: { type: 'string' },
        ip: { type: 'string' },
        tokens: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new TokensUsageError(`${(err as Error).message}\n${USAGE}`);
  }
  if (values.help) return undefined;
  for (const name of ['role', 'node-id', 'domain'] as const) {
    if (!values[name]) throw new TokensUsageError(`--${name} is required\n${USAGE}`);
  }
  return {
    role: values.role as string,
    nodeId: values['node-id'] as string,
    domain: values.domain as string,
    ip: values.ip,
    tokens: values.tokens,
  };
}

export { USAGE as TOKENS_USAGE };

/** The same command for a commander program (the entry point's next shape). */
export function register(program: Command): void {
  program
    .command('tokens')
    .description('manage the tokens file')
    .command('add')
    .description('append a tokenHash entry and print the new token once')
    .requiredOption('--role <role>', ROLES.join('|'))
    .requiredOption('--node-id <id>', 'NodeID of the identity')
    .requiredOption('--domain <domain>', 'Domain of the identity')
    .option('--ip <ip>', 'IP of the identity')
    .option('--tokens <file>', `tokens file (default: REAR_TOKENS, else ${DEFAULT_TOKENS_FILE})`)
    .action(async (o: TokensAddOptions) => {
      await tokensAdd(o);
    });
}
