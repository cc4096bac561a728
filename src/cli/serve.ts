/**
 * `rear-hub serve [flags]` (and `npm start -- [flags]`, which is the same): the hub itself.
 * The only place that listens and handles signals. Its flags keep their own parser
 * (config.ts), shared with the environment variables.
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { FastifyServerOptions } from 'fastify';
import type { HubConfig } from '../config.js';

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

export function register(program: Command): void {
  program
    .command('serve')
    .description(
      'run the hub (the default command: `npm start -- [flags]`); serve --help lists its flags',
    )
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[flags...]')
    .action((flags: string[]) =>
      serve(flags).catch((err: unknown) => {
        console.error('rear-hub:', err instanceof Error ? err.message : err);
        process.exit(1);
      }),
    );
}

async function serve(argv: string[]): Promise<void> {
  // Loaded here, not at the top: the client commands never pay for the server's modules.
  const { ConfigError, helpText, parseConfig } = await import('../config.js');
  let config: HubConfig | undefined;
  try {
    config = parseConfig(argv, process.env);
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
  const [
    { buildApp },
    { systemClock },
    { DemoMarket },
    { seedDemoCatalog },
    { demoTokens, readTokens },
  ] = await Promise.all([
    import('../app.js'),
    import('../clock.js'),
    import('../demo/market.js'),
    import('../demo/seed.js'),
    import('../tokens.js'),
  ]);
  const demoTokensPath = resolve('./data/tokens.json');
  const tokens = config.tokens ? readTokens(config.tokens) : demoTokens(demoTokensPath);

  const app = await buildApp({
    db: config.db,
    tokens,
    ttpSeconds: config.ttpSeconds,
    flavorTtlSeconds: config.flavorTtlSeconds,
    listCacheBytes: config.listCacheMiB * 1024 * 1024,
    pgPoolSize: config.pgPoolSize,
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

  // Route schemas compile on first use (http/lazy-compilers.ts). The others compile here, a
  // little after the hub serves again and one per event-loop turn, so that a schema that
  // does not compile is still reported at start.
  setTimeout(() => {
    app.compileSchemas(true).catch((err: unknown) => {
      app.log.error({ err }, 'a route schema does not compile');
    });
  }, 1000).unref();

  let demo: InstanceType<typeof DemoMarket> | undefined;
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
