/**
 * A CPU profile of a chosen window of this process's life, through the inspector: started and
 * stopped on request, so a profile of a load holds the load and not the process's start-up
 * (module loading, schema compilation and seeding would otherwise dominate a short run).
 * With `alloc`, a sampled allocation profile of the window instead: every allocation, those the
 * garbage collector has since freed included (what a scavenge's frequency follows). With
 * `promoted`, only the allocations no scavenge freed: those that outlived the young generation
 * (promoted, then alive or freed by a major collection) and those still young at the end —
 * what each scavenge copies, which sets how long it pauses.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

export interface WindowProfiler {
  start(): Promise<void>;
  /** Stops and writes the profile into dir; returns its path. */
  stop(dir: string): Promise<string>;
}

/** What a window profiles: CPU, every allocation, or the allocations scavenges kept. */
export type ProfileKind = 'cpu' | 'alloc' | 'promoted';

export function windowProfiler(kind: ProfileKind = 'cpu'): WindowProfiler {
  const alloc = kind !== 'cpu';
  let session: Session | undefined;
  return {
    async start() {
      session = new Session();
      session.connect();
      if (alloc) {
        // One sample per 8 KiB allocated on average (1 KiB for the far fewer survivors), kept
        // even once collected: by any collector, or only by a major one.
        await session.post('HeapProfiler.startSampling', {
          samplingInterval: kind === 'alloc' ? 8192 : 1024,
          includeObjectsCollectedByMajorGC: true,
          includeObjectsCollectedByMinorGC: kind === 'alloc',
        });
        return;
      }
      await session.post('Profiler.enable');
      // 100 µs between samples: fine enough for per-request work of tens of µs.
      await session.post('Profiler.setSamplingInterval', { interval: 100 });
      await session.post('Profiler.start');
    },
    async stop(dir) {
      if (!session) throw new Error('profiler not started');
      const { profile } = alloc
        ? await session.post('HeapProfiler.stopSampling')
        : await session.post('Profiler.stop');
      session.disconnect();
      session = undefined;
      const ext = alloc ? 'heapprofile' : 'cpuprofile';
      const file = join(dir, `window-${process.pid}-${Date.now()}.${ext}`);
      writeFileSync(file, JSON.stringify(profile));
      return file;
    },
  };
}

/**
 * A server's answers to the orchestrator's `profile-start` (with an optional `kind`) and
 * `profile-stop` (with the `dir` to write into): undefined for any other message, which the
 * server answers itself.
 */
export function profileMessages(): (msg: {
  type: string;
  [k: string]: unknown;
}) => Promise<object> | undefined {
  let profiler = windowProfiler();
  return (msg) => {
    if (msg.type === 'profile-start') {
      profiler = windowProfiler(msg.kind as ProfileKind | undefined);
      return profiler.start().then(() => ({}));
    }
    if (msg.type === 'profile-stop')
      return profiler.stop(String(msg.dir)).then((file) => ({ file }));
    return undefined;
  };
}
