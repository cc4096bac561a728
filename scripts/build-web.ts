/**
 * Builds the dashboard: bundles src/web/main.ts with esbuild and copies the static files to
 * dist/web/, which the hub serves at /. Nothing is fetched from outside at build or run time.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
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
for (const f of ['index.html', 'style.css'])
  copyFileSync(new URL(`../src/web/${f}`, import.meta.url), new URL(f, out));
console.log('built dist/web/');
