/**
 * A local throwaway PostgreSQL for trying several hubs on one database:
 *
 *   npm run pg:local [-- --port 55432] [-- --no-fsync]
 *
 * initdb into a temp dir, start the server on 127.0.0.1, print its URL and the commands that
 * start two hubs on it, and stay up until Ctrl-C; then stop the server and remove the dir.
 */
import { parseArgs } from 'node:util';
import { startPostgres } from './lib/pg-cluster.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'no-fsync': { type: 'boolean', default: false },
  },
});
const port = values.port === undefined ? undefined : Number(values.port);
if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
  console.error('usage: npm run pg:local -- [--port N] [--no-fsync]');
  process.exit(2);
}

const cluster = await startPostgres({
  ...(port !== undefined ? { port } : {}),
  fsync: !values['no-fsync'],
});
console.log(
  [
    `PostgreSQL ${cluster.url}`,
    `  (data and log in ${cluster.dir}; removed on exit)`,
    '',
    'Two hubs, one market — in two more terminals:',
    `  npm start -- --db ${cluster.url} --port 5000`,
    `  npm start -- --db ${cluster.url} --port 5001`,
    '',
    'Ctrl-C stops the server and removes its data.',
  ].join('\n'),
);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping PostgreSQL…`);
  cluster.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error('pg:local: stop failed:', err);
      process.exit(1);
    },
  );
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
// Keep the process alive while the server runs; say so if it dies on its own.
const watch = setInterval(() => {
  if (!cluster.running && !stopping) {
    console.error(`PostgreSQL exited on its own:\n${cluster.logTail(10)}`);
    stopping = true;
    void cluster.stop().finally(() => process.exit(1));
  }
}, 1000);
process.once('exit', () => clearInterval(watch));
