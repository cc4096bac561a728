#!/usr/bin/env node
/**
 * The entry point: `npm start -- [flags]` or `rear-hub serve [flags]`. The only place that
 * listens, handles signals and exits.
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type { FastifyServerOptions } from 'fastify';
import { buildApp } from './app.js';
import { parseTokensArgs, tokensAdd, TokensUsageError, TOKENS_USAGE } from './cli/tokens.js';
import { ConfigError, helpText, parseConfig, type HubConfig } from './config.js';
import { systemClock } from './clock.js';
import { DemoMarket } from './demo/market.js';
import { seedDemoCatalog } from './demo/seed.js';
import { demoTokens, readTokens } from './tokens.js';

const LISTEN_PREFIX = 'listening ';

/** pino-pretty in a terminal when it is installed (a dev dependency); JSON lines otherwise. */
function prettyTransport(): FastifyServerOptions['logger'] {
  if (!process.stdout.isTTY) return undefined;
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
  } catch {
    return undefined;
  }
  return { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } };
}

async function tokensCommand(argv: string[]): Promise<void> {
  try {
    const opts = parseTokensArgs(argv);
    if (!opts) {
      console.log(TOKENS_USAGE);
      return;
    }
    await tokensAdd(opts);
  } catch (err) {
    if (err instanceof TokensUsageError) {
      console.error(`rear-hub tokens: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
}

async function main(): Promise<void> {
  if (process.argv[2] === 'tokens') return tokensCommand(process.argv.slice(3));
  let config: HubConfig | undefined;
  try {
    config = parseConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`rear-hub: ${err.message}\n\n${helpText()}`);
      process.exit(2);
    }
    throw err;
  }
  if (!config) {
    console.log(helpText());
    return;
  }
  const demoTokensPath = resolve('./data/tokens.json');
  const tokens = config.tokens ? readTokens(config.tokens) : demoTokens(demoTokensPath);

  const app = await buildApp({
    db: config.db,
    tokens,
    ttpSeconds: config.ttpSeconds,
    flavorTtlSeconds: config.flavorTtlSeconds,
    rateLimit: { perSecond: config.rateLimit },
    ...(config.jwt ? { jwt: config.jwt } : {}),
    ...(config.corsOrigin ? { corsOrigin: config.corsOrigin } : {}),
    metrics: config.metrics,
    logger: {
      level: config.logLevel,
      ...(prettyTransport() as object | undefined),
      hooks: {
        // fastify logs its address as text; give the line the contract's shape: msg "listening" and a url field.
        logMethod(args, method) {
          const [first] = args;
          if (typeof first === 'string' && first.startsWith(LISTEN_PREFIX)) {
            return method.call(this, { url: first.slice(LISTEN_PREFIX.length) }, 'listening');
          }
          return method.apply(this, args);
        },
      },
    },
    onFatal: (err) => {
      console.error('rear-hub: store write failed, stopping:', err);
      process.exit(1);
    },
  });

  if (config.demo) {
    const seeded = await seedDemoCatalog(app.market, tokens);
    if (seeded > 0) app.log.info({ flavors: seeded }, 'seeded the demo catalog');
  }

  const address = await app.listen({
    host: config.host,
    port: config.port,
    listenTextResolver: (addr) => `${LISTEN_PREFIX}${addr}`,
  });

  let demo: DemoMarket | undefined;
  if (config.demo) {
    demo = new DemoMarket({
      baseUrl: `http://${config.host.includes(':') ? `[${config.host}]` : config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${new URL(address).port}`,
      tokens,
      clock: systemClock,
      onError: (err) => app.log.debug({ err }, 'demo market move failed'),
    });
    demo.start();
  }

  const shown =
    config.host === '0.0.0.0' || config.host === '::'
      ? address
      : `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${new URL(address).port}`;
  const lines = [
    '',
    `REAR hub on ${shown}  (API under ${shown}/api/v2, WebSocket ${shown.replace(/^http/, 'ws')}/api/v2/subscriptions)`,
    `Live dashboard: ${shown}/`,
  ];
  if (!config.tokens) {
    lines.push(
      `Demo tokens (in clear text in ${demoTokensPath}: for production, see rear-hub tokens add):`,
    );
    for (const t of tokens) {
      if (!('token' in t)) continue;
      lines.push(
        `  ${t.role.padEnd(8)} ${t.identity.NodeID.padEnd(16)} ${t.token}   ${shown}/#token=${t.token}`,
      );
    }
  }
  console.log(lines.join('\n'));

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    demo?.close();
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('rear-hub: shutdown failed:', err);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error('rear-hub:', err instanceof Error ? err.message : err);
  process.exit(1);
});
