/**
 * Child processes of the benchmark (and the tsc build the hub is measured from): each server or client group runs in its own node process
 * (so load generators never share a core's event loop with what they measure), talks to the
 * orchestrator over IPC, and is killed at the end whatever happens.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Proc {
  child: ChildProcess;
  /** Sends a request and waits for the reply with the same id. */
  ask<T>(msg: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  /** Resolves with the first message of this type. */
  once<T>(type: string, timeoutMs?: number): Promise<T>;
  kill(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

let nextId = 0;

export function spawnProc(
  script: string,
  args: string[] = [],
  execArgv: string[] = [],
  /** A program node runs under, with its arguments (e.g. valgrind: instructions.ts). */
  wrap: string[] = [],
): Proc {
  const path = fileURLToPath(new URL(`../${script}`, import.meta.url));
  const nodeArgv = ['--import', 'tsx', ...execArgv];
  const child = fork(path, args, {
    ...(wrap.length > 0
      ? { execPath: wrap[0], execArgv: [...wrap.slice(1), process.execPath, ...nodeArgv] }
      : { execArgv: nodeArgv }),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  const waiting = new Map<number, (m: unknown) => void>();
  const typed: Array<{ type: string; resolve: (m: unknown) => void }> = [];
  child.on('message', (m: { id?: number; type?: string }) => {
    if (typeof m.id === 'number' && waiting.has(m.id)) {
      waiting.get(m.id)?.(m);
      waiting.delete(m.id);
      return;
    }
    const i = typed.findIndex((t) => t.type === m.type);
    if (i >= 0) typed.splice(i, 1)[0]?.resolve(m);
  });
  // A child that dies fails whatever waits on it, at once.
  const died = new Promise<never>((_, rej) =>
    child.once('exit', (code, signal) =>
      rej(new Error(`${script}: exited (${signal ?? code}) while awaited`)),
    ),
  );
  died.catch(() => {});
  // Sending to a child that has died is reported by `died`, not as a crash of the harness.
  child.on('error', () => {});
  const bounded = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
    Promise.race([
      p,
      died,
      new Promise<T>((_, rej) =>
        setTimeout(() => rej(new Error(`${script}: no ${what} within ${ms} ms`)), ms).unref(),
      ),
    ]);
  return {
    child,
    ask<T>(msg: Record<string, unknown>, timeoutMs = 120_000) {
      const id = ++nextId;
      const p = new Promise<T>((resolve) => waiting.set(id, resolve as (m: unknown) => void));
      child.send({ ...msg, id });
      return bounded(p, timeoutMs, `reply to ${String(msg.type)}`);
    },
    once<T>(type: string, timeoutMs = 180_000) {
      const p = new Promise<T>((resolve) =>
        typed.push({ type, resolve: resolve as (m: unknown) => void }),
      );
      return bounded(p, timeoutMs, type);
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(t);
    },
  };
}

/** In a child: answers the orchestrator's requests with `handle`. */
export function serve(
  handle: (msg: { type: string; id?: number; [k: string]: unknown }) => Promise<unknown> | unknown,
): void {
  process.on('message', (msg: { type: string; id?: number }) => {
    Promise.resolve(handle(msg)).then(
      (reply) => process.send?.({ ...(reply as object), id: msg.id }),
      (err: unknown) => process.send?.({ error: String(err), id: msg.id }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}

/** Compiles the hub into dist/ with tsc: it is measured as it ships, not tsx-transpiled. */
export function buildDist(): void {
  execFileSync(
    process.execPath,
    [
      fileURLToPath(new URL('../../../node_modules/typescript/bin/tsc', import.meta.url)),
      '-p',
      'tsconfig.build.json',
    ],
    { stdio: 'inherit' },
  );
}

/** The whole machine's CPU time so far (all cores, all processes), from /proc/stat, in µs. */
export function machineCpu(): { busyUs: number; totalUs: number } {
  // The first line sums every core: user nice system idle iowait irq softirq steal ...
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]?.trim().split(/\s+/) ?? [];
  const ticks = fields.slice(1, 9).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  // USER_HZ is 100 on Linux: one tick is 10 ms.
  return { busyUs: (total - idle) * 10_000, totalUs: total * 10_000 };
}

/** Each thread's /proc/<pid>/task/<tid>/<file> as read now, with its tid (ended threads skipped). */
function threadFiles(pid: number, file: 'stat' | 'status'): Array<[tid: string, text: string]> {
  const out: Array<[string, string]> = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.push([tid, readFileSync(`/proc/${pid}/task/${tid}/${file}`, 'utf8')]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** CPU seconds so far of each thread of a process, by name/tid ("main" for the event loop). */
export function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const [tid, stat] of threadFiles(pid, 'stat')) {
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime, in ticks of 10 ms
    out.set(
      tid === String(pid) ? 'main' : `${name}/${tid}`,
      (Number(fields[11]) + Number(fields[12])) / 100,
    );
  }
  return out;
}

/** A process's CPU so far, µs: its main thread's, and its other threads' together. */
export function mainAndOtherCpu(pid: number): { main: number; other: number } {
  let main = 0;
  let other = 0;
  for (const [name, s] of threadCpu(pid)) {
    if (name === 'main') main += s;
    else other += s;
  }
  return { main: main * 1e6, other: other * 1e6 };
}

/**
 * Context switches so far of a process: its main thread's involuntary ones (it was runnable
 * and another thread or process got its core), and every thread's, voluntary or not.
 */
export function contextSwitches(pid: number): { mainInvoluntary: number; all: number } {
  const out = { mainInvoluntary: 0, all: 0 };
  for (const [tid, status] of threadFiles(pid, 'status')) {
    const field = (name: string) =>
      Number(new RegExp(`^${name}:\\s*(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    const involuntary = field('nonvoluntary_ctxt_switches');
    out.all += field('voluntary_ctxt_switches') + involuntary;
    if (tid === String(pid)) out.mainInvoluntary = involuntary;
  }
  return out;
}

/**
 * The CPU the whole PostgreSQL cluster has used, µs: the postmaster's own and that of its
 * children it has reaped (backends that ended), plus that of every backend alive now.
 */
export function postgresCpuUs(dataDir: string): number {
  let postmaster: string;
  try {
    postmaster = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n', 1)[0] ?? '';
  } catch {
    return 0;
  }
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after the command's closing parenthesis: state ppid … utime(14) stime(15)
    // cutime(16) cstime(17).
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (pid === postmaster) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    else if (f[1] === postmaster) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks * 10_000;
}

/** The CPU of bench servers (servers/*.ts answer `cpu` over IPC), µs. */
export async function processCpuUs(procs: Proc[]): Promise<number> {
  const all = await Promise.all(procs.map((p) => p.ask<{ cpu: NodeJS.CpuUsage }>({ type: 'cpu' })));
  return all.reduce((s, r) => s + r.cpu.user + r.cpu.system, 0);
}
