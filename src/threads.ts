/**
 * Worker threads run one of the hub's own modules: the built one under dist/, or its
 * TypeScript source when the hub runs from src/ (tests, tsx), where the thread registers the
 * same loader first. The SQLite writer and the contract signing thread start this way.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * Starts `name` (a module beside `from`, given without its extension) in a worker thread.
 * `from` is the caller's import.meta.url: its extension says whether it runs built or not.
 */
export function startThread(from: string, name: string, workerData?: unknown): Worker {
  const ts = from.endsWith('.ts');
  const module = new URL(`./${name}${ts ? '.ts' : '.js'}`, from);
  if (!ts) return new Worker(module, { workerData });
  const tsx = createRequire(import.meta.url).resolve('tsx/cjs/api');
  const code = `require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(fileURLToPath(module))});`;
  return new Worker(code, { eval: true, workerData });
}
