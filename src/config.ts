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
  /** LIST answers kept while the catalog does not change, MiB (0 = off). */
  listCacheMiB: number;
  /** Connections this instance keeps open to PostgreSQL (a postgres:// --db only). */
  pgPoolSize: number;
  demo: boolean;
  /** Per-token requests per second (0 = off). */
  rateLimit: number;
  /** JWT bearer tokens (§11): accepted when jwksUrl is set. */
  jwt: { jwksUrl: string; issuer: string | undefined; audience: string | undefined } | undefined;
  /** Origins allowed by CORS: a list, or true for any; undefined leaves CORS off. */
  corsOrigin: string[] | true | undefined;
  logLevel: LogLevel;
  /** GET /metrics and the instruments behind it. */
  metrics: boolean;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

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
    'tokens file (JSON array of {token or tokenHash, role, identity})',
  ],
  ['--ttp', 'REAR_TTP', '60', 'Time To Purchase of a reservation, seconds'],
  ['--flavor-ttl', 'REAR_FLAVOR_TTL', '300', 'default validity of a published flavor, seconds'],
  [
    '--list-cache',
    'REAR_LIST_CACHE',
    '16',
    'MiB of LIST answers kept while the catalog is unchanged (0 = off)',
  ],
  [
    '--pg-pool',
    'REAR_PG_POOL',
    '10',
    'connections this instance keeps to PostgreSQL (postgres:// --db only)',
  ],
  ['--demo / --no-demo', 'REAR_DEMO', 'on without --tokens', 'demo catalog and a demo market'],
  ['--rate-limit', 'REAR_RATE_LIMIT', '200', 'requests per second per token (0 = off)'],
  ['--jwt-jwks-url', 'REAR_JWT_JWKS_URL', 'off', 'JWK Set URL: accept JWT bearer tokens it signs'],
  ['--jwt-issuer', 'REAR_JWT_ISSUER', 'any', 'required JWT issuer (iss)'],
  ['--jwt-audience', 'REAR_JWT_AUDIENCE', 'any', 'required JWT audience (aud)'],
  ['--cors-origin', 'REAR_CORS_ORIGIN', 'off', 'origins allowed by CORS, comma-separated, or *'],
  ['--log-level', 'REAR_LOG_LEVEL', 'info', 'fatal|error|warn|info|debug|trace|silent'],
  ['--metrics / --no-metrics', 'REAR_METRICS', 'on', 'GET /metrics (Prometheus)'],
] as const;

export function helpText(): string {
  const rows = FLAGS.map(
    ([flag, env, def, meaning]) =>
      `  ${flag.padEnd(24)} ${env.padEnd(18)} ${meaning} (default: ${def})`,
  );
  return [
    'Usage: npm start -- [flags]   (or: rear-hub serve [flags])',
    '',
    'Flags (each can also come from the environment variable beside it):',
    ...rows,
    `  ${'--help'.padEnd(24)} ${''.padEnd(18)} this text`,
    '',
    'Other commands:',
    '  rear-hub tokens add --role R --node-id ID --domain D [--ip IP] [--tokens FILE]',
    '      append a tokenHash entry to a tokens file and print the new token once',
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
        'list-cache': { type: 'string' },
        'pg-pool': { type: 'string' },
        demo: { type: 'boolean' },
        'rate-limit': { type: 'string' },
        'jwt-jwks-url': { type: 'string' },
        'jwt-issuer': { type: 'string' },
        'jwt-audience': { type: 'string' },
        'cors-origin': { type: 'string' },
        'log-level': { type: 'string' },
        metrics: { type: 'boolean' },
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
  const pgPoolSize = positiveNumber('--pg-pool', v['pg-pool'] ?? env.REAR_PG_POOL ?? '10');
  if (!Number.isInteger(pgPoolSize))
    throw new ConfigError(`--pg-pool must be a whole number of connections, got ${pgPoolSize}`);
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
    listCacheMiB: positiveNumber(
      '--list-cache',
      v['list-cache'] ?? env.REAR_LIST_CACHE ?? '16',
      true,
    ),
    pgPoolSize,
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
    jwt: jwtConfig(
      v['jwt-jwks-url'] ?? env.REAR_JWT_JWKS_URL,
      v['jwt-issuer'] ?? env.REAR_JWT_ISSUER,
      v['jwt-audience'] ?? env.REAR_JWT_AUDIENCE,
    ),
    corsOrigin: corsOrigins(v['cors-origin'] ?? env.REAR_CORS_ORIGIN),
    logLevel: logLevel(v['log-level'] ?? env.REAR_LOG_LEVEL ?? env.LOG_LEVEL ?? 'info'),
    metrics:
      v.metrics ??
      (env.REAR_METRICS !== undefined && env.REAR_METRICS !== ''
        ? bool('REAR_METRICS', env.REAR_METRICS)
        : true),
  };
}

function jwtConfig(
  jwksUrl: string | undefined,
  issuer: string | undefined,
  audience: string | undefined,
): HubConfig['jwt'] {
  if (!jwksUrl) {
    if (issuer || audience)
      throw new ConfigError('--jwt-issuer and --jwt-audience need --jwt-jwks-url');
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(jwksUrl);
  } catch {
    throw new ConfigError(`--jwt-jwks-url must be a URL, got "${jwksUrl}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new ConfigError(`--jwt-jwks-url must be http(s), got "${jwksUrl}"`);
  return { jwksUrl, issuer: issuer || undefined, audience: audience || undefined };
}

function corsOrigins(text: string | undefined): HubConfig['corsOrigin'] {
  if (text === undefined || text.trim() === '') return undefined;
  if (text.trim() === '*') return true;
  const origins = text
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const o of origins) {
    let url: URL | undefined;
    try {
      url = new URL(o);
    } catch {
      url = undefined;
    }
    if (!url || url.origin !== o)
      throw new ConfigError(`--cors-origin takes origins like https://app.example, got "${o}"`);
  }
  return origins;
}

function logLevel(text: string): LogLevel {
  const level = text.trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level))
    throw new ConfigError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${text}"`);
  return level as LogLevel;
}
