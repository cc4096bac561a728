/**
 * Start-up flags (§1), each with the environment variable beside it. Flags win over the
 * environment, which wins over the defaults.
 */
import { parseArgs } from 'node:util';
import { storeKind, StoreConfigError } from './store/index.js';

export interface HubConfig {
  host: string;
  port: number;
  db: string;
  /** Tokens file; undefined means demo tokens in ./data/tokens.json. */
  tokens: string | undefined;
  ttpSeconds: number;
  flavorTtlSeconds: number;
  demo: boolean;
  /** Per-token requests per second (0 = off). */
  rateLimit: number;
}

export const FLAGS = [
  ['--host', 'REAR_HOST', '127.0.0.1', 'address to bind'],
  ['--port', 'REAR_PORT', '5000', 'port; 0 picks a free one'],
  [
    '--db',
    'REAR_DB',
    './data/rear-hub.db',
    'SQLite file, :memory:, or postgres://user:pass@host:port/db (several instances, one market)',
  ],
  [
    '--tokens',
    'REAR_TOKENS',
    'demo tokens in ./data/tokens.json',
    'tokens file (JSON array of {token, role, identity})',
  ],
  ['--ttp', 'REAR_TTP', '60', 'Time To Purchase of a reservation, seconds'],
  ['--flavor-ttl', 'REAR_FLAVOR_TTL', '300', 'default validity of a published flavor, seconds'],
  ['--demo / --no-demo', 'REAR_DEMO', 'on without --tokens', 'demo catalog and a demo market'],
  ['--rate-limit', 'REAR_RATE_LIMIT', '200', 'requests per second per token (0 = off)'],
] as const;

export function helpText(): string {
  const rows = FLAGS.map(
    ([flag, env, def, meaning]) =>
      `  ${flag.padEnd(20)} ${env.padEnd(17)} ${meaning} (default: ${def})`,
  );
  return [
    'Usage: npm start -- [flags]   (or: rear-hub serve [flags])',
    '',
    'Flags (each can also come from the environment variable beside it):',
    ...rows,
    '  --help                                 this text',
    '',
    'The client commands (flavors, watch, reserve, purchase, publish, …): rear-hub help',
  ].join('\n');
}

export class ConfigError extends Error {}

function positiveNumber(name: string, text: string, allowZero = false): number {
  const n = Number(text);
  if (
    !Number.isFinite(n) ||
    n < 0 ||
    (!allowZero && n === 0) ||
    !/^\d+(\.\d+)?$/.test(text.trim())
  ) {
    throw new ConfigError(
      `${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got "${text}"`,
    );
  }
  return n;
}

function bool(name: string, text: string): boolean {
  if (/^(1|true|yes|on)$/i.test(text)) return true;
  if (/^(0|false|no|off)$/i.test(text)) return false;
  throw new ConfigError(`${name} must be true or false, got "${text}"`);
}

/** Parses argv (without node and script) and env; returns undefined for --help. */
export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): HubConfig | undefined {
  const args = argv[0] === 'serve' ? argv.slice(1) : argv;
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowNegative: true,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        db: { type: 'string' },
        tokens: { type: 'string' },
        ttp: { type: 'string' },
        'flavor-ttl': { type: 'string' },
        demo: { type: 'boolean' },
        'rate-limit': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) return undefined;
  const tokens = v.tokens ?? env.REAR_TOKENS ?? undefined;
  const port = positiveNumber('--port', v.port ?? env.REAR_PORT ?? '5000', true);
  if (!Number.isInteger(port) || port > 65535)
    throw new ConfigError(`--port must be 0..65535, got ${port}`);
  const db = v.db ?? env.REAR_DB ?? './data/rear-hub.db';
  try {
    storeKind(db);
  } catch (err) {
    if (err instanceof StoreConfigError) throw new ConfigError(err.message);
    throw err;
  }
  return {
    host: v.host ?? env.REAR_HOST ?? '127.0.0.1',
    port,
    db,
    tokens: tokens || undefined,
    ttpSeconds: positiveNumber('--ttp', v.ttp ?? env.REAR_TTP ?? '60'),
    flavorTtlSeconds: positiveNumber(
      '--flavor-ttl',
      v['flavor-ttl'] ?? env.REAR_FLAVOR_TTL ?? '300',
    ),
    demo:
      v.demo ??
      (env.REAR_DEMO !== undefined && env.REAR_DEMO !== ''
        ? bool('REAR_DEMO', env.REAR_DEMO)
        : !tokens),
    rateLimit: positiveNumber(
      '--rate-limit',
      v['rate-limit'] ?? env.REAR_RATE_LIMIT ?? '200',
      true,
    ),
  };
}
