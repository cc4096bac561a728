/**
 * A sampled allocation profile's tables (the inspector's HeapProfiler.stopSampling): bytes per
 * unit of load (request, delivery, sale), by function and by file.
 */

/** A node of the sampled allocation profile's call tree. */
export interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

/**
 * A profile frame's script, from its package (`pg-protocol/dist/parser.js`) or from the build
 * (`src/…`); `(native)` when it has none.
 */
function whereOf(url: string): string {
  if (url === '') return '(native)';
  return url.includes('node_modules/')
    ? url.replace(/.*node_modules\//, '')
    : url.replace(/.*\/dist\//, '');
}

/**
 * The file a frame is counted under: the hub's own file (`src/…`) or node's (`node:…`), else
 * its package; `(native)` for frames with no script.
 */
export function fileOf(url: string): string {
  const where = whereOf(url);
  return where.startsWith('src/') || where.startsWith('node:')
    ? where
    : (where.split('/')[0] ?? where);
}

/** Prints the bytes under `head` per `unit`, `units` of which the profiled load made. */
export function allocationTables(
  head: HeapNode,
  units: number,
  unit: string,
  what = 'allocated',
): void {
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  let all = 0;
  const walk = (n: HeapNode) => {
    const f = n.callFrame;
    const fn = `${f.functionName || '(anon)'} ${whereOf(f.url)}:${f.lineNumber}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + n.selfSize);
    const fileKey = fileOf(f.url);
    byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + n.selfSize);
    all += n.selfSize;
    for (const c of n.children) walk(c);
  };
  walk(head);
  console.log(`${units} ${unit}s; ${(all / units / 1024).toFixed(1)} KiB ${what} per ${unit}`);
  const table = (title: string, m: Map<string, number>) => {
    console.log(`\n${title}: % of bytes, bytes per ${unit}`);
    for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, 40))
      console.log(((v / all) * 100).toFixed(1).padStart(5), (v / units).toFixed(0).padStart(7), k);
  };
  table('by function', byFn);
  table('by file', byFile);
}
