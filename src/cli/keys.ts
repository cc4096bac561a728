/**
 * `rear-hub keys rotate [--db FILE]` (§12): adds a new contract signing key to the store. The
 * new key signs every later contract — on a running hub within KEY_REFRESH_MS (it re-reads
 * the store's keys), on every instance sharing the store — and every older key stays
 * published, so contracts signed before the rotation still verify.
 */
import { parseArgs } from 'node:util';
import { systemClock } from '../clock.js';
import { newStoredKey } from '../domain/contract-signer.js';
import { openStore } from '../store/index.js';

export interface RotateOptions {
  /** The store (`--db`): SQLite file (a PostgreSQL URL once that backend exists). */
  db: string;
  /** ms since the epoch; defaults to now. */
  now?: number;
}

export interface RotateResult {
  /** The new signing key's kid. */
  kid: string;
  /** Every kid now published, oldest first. */
  kids: string[];
}

/** Adds a new signing key to the store and closes it. */
export async function rotateKey(options: RotateOptions): Promise<RotateResult> {
  const store = await openStore(options.db, systemClock);
  try {
    const key = newStoredKey(options.now ?? systemClock.now());
    await store.addKey(key);
    const kids = (await store.keys()).map((k) => k.kid);
    return { kid: key.kid, kids };
  } finally {
    await store.close();
  }
}

export const KEYS_USAGE = `Usage: rear-hub keys rotate [--db FILE]

Adds a new contract signing key to the store (default --db: $REAR_DB or ./data/rear-hub.db).
The new key signs from then on (a running hub picks it up within 30 s); every older key stays
published at GET /api/v2/keys.`;

/**
 * The `keys` command on its arguments (after `keys`); returns the exit code. Prints the new
 * kid on stdout (with --json, the RotateResult as JSON).
 */
export async function keysCommand(
  args: string[],
  env: NodeJS.ProcessEnv,
  out: (line: string) => void = console.log,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { db: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' } },
    });
  } catch (err) {
    out(`rear-hub keys: ${(err as Error).message}\n\n${KEYS_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    out(KEYS_USAGE);
    return 0;
  }
  if (positionals[0] !== 'rotate' || positionals.length > 1) {
    out(KEYS_USAGE);
    return 2;
  }
  const result = await rotateKey({ db: values.db ?? env.REAR_DB ?? './data/rear-hub.db' });
  out(values.json ? JSON.stringify(result) : result.kid);
  return 0;
}
