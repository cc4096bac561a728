/**
 * A throwaway PostgreSQL cluster: initdb into a temporary directory, a postmaster on a free
 * TCP port of 127.0.0.1 (its unix socket inside that directory), one database, and the
 * controls a fault test needs (restart, SIGKILL, start again). Used by the tests
 * (`test/helpers/postgres.ts`) and by `npm run pg:local`; never by `src/`.
 *
 * PostgreSQL refuses to run as root: as root, the directory is handed to the `postgres` user
 * (Debian's `postgresql` package creates it) and initdb and the postmaster run under its
 * uid/gid. As anyone else they run as the current user.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import pg from 'pg';

export interface PgClusterOptions {
  /**
   * `fsync`, `synchronous_commit` and `full_page_writes` (default on: a commit is on disk
   * when it is acknowledged). Turn off only where a test never checks durability.
   */
  fsync?: boolean;
  /** `max_connections` (default 200: several hubs, each with its pool, and the tests' clients). */
  maxConnections?: number;
  /** The database created at start, which `url` names (default `rear`). */
  database?: string;
  /** More server settings, passed as `-c name=value` (e.g. `{ shared_buffers: '256MB' }`). */
  settings?: Record<string, string | number | boolean>;
  /** TCP port (default: a free one, picked at start). */
  port?: number;
  /** Where the temporary directory goes (default the OS temp dir). */
  parentDir?: string;
}

export type ShutdownMode = 'smart' | 'fast' | 'immediate';

export interface PgCluster {
  /** `postgres://postgres@127.0.0.1:<port>/<database>`; trust authentication, no password. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The temporary directory holding everything below; removed by `stop()`. */
  readonly dir: string;
  readonly dataDir: string;
  readonly socketDir: string;
  /** The server's log (stderr), appended across restarts. */
  readonly logFile: string;
  /** True while a postmaster of this cluster runs. */
  readonly running: boolean;
  /** The URL of another database of this cluster. */
  urlFor(database: string): string;
  /** Creates a database (a fresh unique name when none is given) and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Drops a database, closing its sessions (`WITH (FORCE)`). */
  dropDatabase(name: string): Promise<void>;
  /** Starts the postmaster again on the same port and data (after `shutdown` or `kill`). */
  start(): Promise<void>;
  /**
   * Stops the postmaster and waits for it to exit; the data stays. `fast` (default) ends the
   * sessions and checkpoints; `immediate` ends them without a checkpoint (crash recovery at the
   * next start); `smart` waits for the sessions to end.
   */
  shutdown(mode?: ShutdownMode): Promise<void>;
  /** `shutdown('fast')` then `start()`: every connection is cut, the data stays. */
  restart(): Promise<void>;
  /**
   * SIGKILL to the postmaster and every backend (they share its process group), as when the
   * machine dies; waits for the postmaster to be gone. The data stays; `start()` recovers it.
   */
  kill(): Promise<void>;
  /** Stops the server (if it runs) and removes the temporary directory. Safe to call twice. */
  stop(): Promise<void>;
  /** The last lines of the server's log, for error messages. */
  logTail(lines?: number): string;
  /** What the server logged since its last start began. */
  lastStartLog(): string;
}

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 30_000;
const SIGNAL_FOR: Record<ShutdownMode, NodeJS.Signals> = {
  smart: 'SIGTERM',
  fast: 'SIGINT',
  immediate: 'SIGQUIT',
};

/**
 * The directory of PostgreSQL's server binaries (`initdb`, `postgres`): `REAR_PG_BINDIR`, else
 * `pg_config --bindir` when it holds them, else the newest `/usr/lib/postgresql/<n>/bin`
 * (Debian's layout), else the PATH. Throws, saying what to install, when none has them.
 */
export function findPgBinDir(): string {
  const has = (dir: string) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'));
  const fromEnv = process.env.REAR_PG_BINDIR;
  if (fromEnv) {
    if (has(fromEnv)) return fromEnv;
    throw new Error(`REAR_PG_BINDIR=${fromEnv} holds no initdb and postgres`);
  }
  try {
    const dir = execFileSync('pg_config', ['--bindir'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    if (dir && has(dir)) return dir;
  } catch {
    // No pg_config (it comes with libpq-dev): look where Debian puts the server.
  }
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((v) => /^\d+(\.\d+)?$/.test(v) && has(join(debian, v, 'bin')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(debian, versions[0], 'bin');
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && has(dir)) return dir;
  }
  throw new Error(
    'PostgreSQL server binaries (initdb, postgres) not found: install Debian\'s "postgresql" ' +
      'package (apt-get install postgresql; .ci/run does), or set REAR_PG_BINDIR',
  );
}

/** As root: the uid/gid of the `postgres` user, whom the server runs as. Otherwise undefined. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const id = (flag: string) =>
      Number(
        execFileSync('id', [flag, 'postgres'], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        }).trim(),
      );
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    throw new Error(
      'running as root, and PostgreSQL refuses root: a "postgres" user is needed to run it ' +
        "(Debian's postgresql package creates one)",
    );
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The environment of initdb and the server: ours, without PG* variables that would steer them. */
function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v;
  env.LC_ALL = 'C';
  env.LANG = 'C';
  return env;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Clusters of this process, killed and removed if the process exits without stopping them. */
const live = new Set<Cluster>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of live) c.killNowAndRemove();
  });
}

/**
 * A watchdog for when this process dies without its exit hook (SIGKILL, a signal's default
 * action): a detached shell that polls our pid, then shuts the server down (SIGQUIT: immediate,
 * which also frees its shared memory, and removes postmaster.pid when done: an orphan's pid may
 * linger as a zombie), SIGKILLs what is left and removes the directory. The server's pid is
 * read from postmaster.pid then, since restarts change it.
 */
const REAPER = `
while kill -0 "$1" 2>/dev/null; do sleep 1; done
pid=$(head -n 1 "$2/data/postmaster.pid" 2>/dev/null)
if [ -n "$pid" ]; then
  kill -QUIT "$pid" 2>/dev/null
  i=0
  while [ -f "$2/data/postmaster.pid" ] && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
  kill -KILL -- "-$pid" 2>/dev/null
fi
rm -rf "$2"
`;

function startReaper(dir: string): ChildProcess {
  const reaper = spawn('sh', ['-c', REAPER, 'rear-pg-reaper', String(process.pid), dir], {
    detached: true,
    stdio: 'ignore',
  });
  reaper.on('error', () => {}); // Without sh there is no watchdog; the exit hook remains.
  reaper.unref();
  return reaper;
}

let databaseCounter = 0;

class Cluster implements PgCluster {
  readonly host = HOST;
  readonly dataDir: string;
  readonly socketDir: string;
  readonly logFile: string;
  port = 0;
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private reaper: ChildProcess | undefined;
  private starting: Promise<void> | undefined;
  /** Where the log stood when the last start began: errors quote only what came after. */
  private logStart = 0;

  constructor(
    readonly dir: string,
    private readonly binDir: string,
    private readonly user: { uid: number; gid: number } | undefined,
    private readonly database: string,
    private readonly settings: Record<string, string>,
  ) {
    this.dataDir = join(dir, 'data');
    this.socketDir = join(dir, 'socket');
    this.logFile = join(dir, 'postgres.log');
  }

  get url(): string {
    return this.urlFor(this.database);
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  urlFor(database: string): string {
    return `postgres://postgres@${HOST}:${this.port}/${database}`;
  }

  /** initdb into the data directory. */
  async init(): Promise<void> {
    for (const d of [this.dataDir, this.socketDir]) {
      mkdirSync(d, { mode: 0o700 });
      if (this.user) chownSync(d, this.user.uid, this.user.gid);
    }
    const hint = this.user
      ? `\n(as root, initdb and the server run as the postgres user, uid ${this.user.uid}: ` +
        `${this.dir} and every directory above it must be reachable by that user; ` +
        'set TMPDIR or parentDir to move it)'
      : '';
    await this.run(join(this.binDir, 'initdb'), [
      '-D',
      this.dataDir,
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
      '--no-instructions',
    ]).catch((err: Error) => {
      throw new Error(err.message + hint, { cause: err });
    });
  }

  private run(bin: string, args: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(bin, args, {
        cwd: this.dir,
        env: serverEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
        ...(this.user ?? {}),
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.once('error', reject);
      child.once('close', (code, signal) =>
        code === 0
          ? resolve()
          : reject(new Error(`${bin} failed (${signal ?? `exit ${code}`}):\n${out}`)),
      );
    });
  }

  start(): Promise<void> {
    if (this.stopping) return Promise.reject(new Error('this PostgreSQL cluster was stopped'));
    if (this.child && !this.starting) return Promise.resolve();
    this.starting ??= this.startWithRetries().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async startWithRetries(): Promise<void> {
    // After a SIGKILL the old shared memory may take a moment to be released.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.startOnce();
        return;
      } catch (err) {
        // "pre-existing shared memory block (key …, ID …) is still in use": the killed
        // server's backends have not all exited yet (seconds on a loaded machine).
        if (
          attempt < 100 &&
          /shared memory block .*is still in use|lock file .* already exists/.test(
            this.lastStartLog(),
          )
        ) {
          await sleep(100);
          continue;
        }
        throw err;
      }
    }
  }

  private async startOnce(): Promise<void> {
    this.logStart = existsSync(this.logFile) ? statSync(this.logFile).size : 0;
    const args = ['-D', this.dataDir, '-p', String(this.port)];
    for (const [k, v] of Object.entries(this.settings)) args.push('-c', `${k}=${v}`);
    const log = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      // Its own process group, so that kill() reaches every backend, and a Ctrl-C in a terminal
      // reaches only us (pg-local stops it in order).
      child = spawn(join(this.binDir, 'postgres'), args, {
        cwd: this.dir,
        env: serverEnv(),
        detached: true,
        stdio: ['ignore', log, log],
        ...(this.user ?? {}),
      });
    } finally {
      closeSync(log);
    }
    let failed: Error | undefined;
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      // A spawn that failed (no pid) has no exit to wait for.
      child.once('error', (err) => {
        failed = err;
        if (child.pid === undefined) resolve();
      });
    });
    this.child = child;
    this.exited = exited.then(() => {
      if (this.child === child) this.child = undefined;
    });
    try {
      await this.waitReady(child, () => failed);
    } catch (err) {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-(child.pid as number), 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      await this.exited;
      throw err;
    }
  }

  private async waitReady(child: ChildProcess, failed: () => Error | undefined): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      const err = failed();
      if (err) throw err;
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`postgres exited at start:\n${this.lastStartLog()}`);
      }
      const client = new pg.Client({ connectionString: this.urlFor('postgres') });
      client.on('error', () => {});
      try {
        await client.connect();
        await client.query('SELECT 1');
        return;
      } catch {
        if (Date.now() > deadline) {
          throw new Error(
            `postgres not ready within ${READY_TIMEOUT_MS} ms:\n${this.lastStartLog()}`,
          );
        }
      } finally {
        await client.end().catch(() => {});
      }
      await sleep(50);
    }
  }

  async shutdown(mode: ShutdownMode = 'fast'): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill(SIGNAL_FOR[mode]);
    const timer = setTimeout(() => this.killGroup(child), EXIT_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }

  async restart(): Promise<void> {
    await this.shutdown('fast');
    await this.start();
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.killGroup(child);
    await this.exited;
  }

  private killGroup(child: ChildProcess): void {
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      // The data is deleted next: a SIGKILL is quicker than any shutdown on a busy machine,
      // and removeLeftovers() frees the shared memory it leaves.
      await this.kill();
      this.stopReaper();
      this.removeLeftovers();
      live.delete(this);
    })();
    return this.stopping;
  }

  /** Synchronous, for the process's exit hook. */
  killNowAndRemove(): void {
    if (this.child) this.killGroup(this.child);
    this.stopReaper();
    this.removeLeftovers();
  }

  watch(): void {
    this.reaper ??= startReaper(this.dir);
  }

  private stopReaper(): void {
    if (this.reaper?.exitCode === null) this.reaper.kill('SIGKILL');
  }

  /**
   * Removes the directory, and the server's small SysV shared memory segment when a SIGKILL
   * left it behind (postmaster.pid still there; its 7th line names the segment).
   */
  private removeLeftovers(): void {
    try {
      const lines = readFileSync(join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n');
      const shmId = lines[6]?.trim().split(/\s+/)[1];
      if (shmId && /^\d+$/.test(shmId)) {
        execFileSync('ipcrm', ['-m', shmId], { stdio: 'ignore' });
      }
    } catch {
      // A clean shutdown removed postmaster.pid, or the segment is already gone.
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  async createDatabase(name = `db_${process.pid}_${++databaseCounter}`): Promise<string> {
    await this.admin(`CREATE DATABASE ${identifier(name)}`);
    return this.urlFor(name);
  }

  async dropDatabase(name: string): Promise<void> {
    await this.admin(`DROP DATABASE IF EXISTS ${identifier(name)} WITH (FORCE)`);
  }

  private async admin(sql: string): Promise<void> {
    const client = new pg.Client({ connectionString: this.urlFor('postgres') });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }

  /** What the server logged since the last start began. */
  lastStartLog(): string {
    try {
      return readFileSync(this.logFile).subarray(this.logStart).toString('utf8').trimEnd();
    } catch {
      return '';
    }
  }

  logTail(lines = 30): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }
}

function identifier(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw new Error(`database name ${JSON.stringify(name)}: use [a-z_][a-z0-9_]*`);
  }
  return name;
}

/**
 * initdb, start and wait until the server accepts connections, then create the database that
 * `url` names. Call `stop()` when done (an exit hook kills and removes what is left running
 * when the process exits normally).
 */
export async function startPostgres(options: PgClusterOptions = {}): Promise<PgCluster> {
  const binDir = findPgBinDir();
  const user = serverUser();
  const dir = mkdtempSync(join(options.parentDir ?? tmpdir(), 'rear-pg-'));
  if (user) chownSync(dir, user.uid, user.gid);
  const durable = options.fsync ?? true;
  const settings: Record<string, string> = {
    listen_addresses: HOST,
    unix_socket_directories: join(dir, 'socket'),
    max_connections: String(options.maxConnections ?? 200),
    shared_buffers: '32MB',
    fsync: durable ? 'on' : 'off',
    synchronous_commit: durable ? 'on' : 'off',
    full_page_writes: durable ? 'on' : 'off',
    huge_pages: 'off',
    logging_collector: 'off',
  };
  for (const [k, v] of Object.entries(options.settings ?? {})) settings[k] = String(v);
  const cluster = new Cluster(dir, binDir, user, options.database ?? 'rear', settings);
  live.add(cluster);
  installExitHook();
  try {
    cluster.watch();
    await cluster.init();
    // A free port may be taken by someone else before the server binds it: try a few.
    for (let attempt = 1; ; attempt++) {
      cluster.port = options.port ?? (await freePort());
      try {
        await cluster.start();
        break;
      } catch (err) {
        const taken = /could not bind|Address already in use/.test(cluster.lastStartLog());
        if (options.port || attempt >= 5 || !taken) {
          throw err;
        }
      }
    }
    await cluster.createDatabase(options.database ?? 'rear');
    return cluster;
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}
