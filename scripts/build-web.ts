/**
 * Builds the dashboard: bundles src/web/main.ts (with the SDK and uPlot) with esbuild and copies
 * the static files to dist/web/, which the hub serves at /. Nothing is fetched from outside at
 * build or run time.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const out = new URL('../dist/web/', import.meta.url);
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [new URL('../src/web/main.ts', import.meta.url).pathname],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  outfile: new URL('app.js', out).pathname,
  logLevel: 'warning',
});
copyFileSync(new URL('../src/web/index.html', import.meta.url), new URL('index.html', out));
// The chart library's stylesheet goes with ours: one file, served by the hub like the rest.
writeFileSync(
  new URL('style.css', out),
  [
    readFileSync(new URL('../src/web/style.css', import.meta.url), 'utf8'),
    readFileSync(new URL('../node_modules/uplot/dist/uPlot.min.css', import.meta.url), 'utf8'),
  ].join('\n'),
);
console.log('built dist/web/');
