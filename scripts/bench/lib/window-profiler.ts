/**
 * A CPU profile of a chosen window of this process's life, through the inspector: started and
 * stopped on request, so a profile of a load holds the load and not the process's start-up
 * (module loading, schema compilation and seeding would otherwise dominate a short run).
 * With `alloc`, a sampled allocation profile of the window instead: every allocation, those the
 * garbage collector has since freed included (what a scavenge's frequency follows).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

export interface WindowProfiler {
  start(): Promise<void>;
  /** Stops and writes the profile into dir; returns its path. */
  stop(dir: string): Promise<string>;
}

export function windowProfiler(alloc = false): WindowProfiler {
  let session: Session | undefined;
  return {
    async start() {
      session = new Session();
      session.connect();
      if (alloc) {
        // One sample per 8 KiB allocated on average, kept even once collected.
        await session.post('HeapProfiler.startSampling', {
          samplingInterval: 8192,
          includeObjectsCollectedByMajorGC: true,
          includeObjectsCollectedByMinorGC: true,
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
