/**
 * Serves the dashboard built by scripts/build-web.ts (dist/web): a handful of static files,
 * read once at start and served from memory. No CDN, nothing fetched from outside.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/app.js.map': { file: 'app.js.map', type: 'application/json; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

// From src/http/routes (tsx) or dist/src/http/routes (built), dist/web is found one way or the other.
const CANDIDATES = [
  new URL('../../../dist/web/', import.meta.url),
  new URL('../../../web/', import.meta.url),
];

export function webRoutes(app: FastifyInstance): void {
  const dir = CANDIDATES.find((d) => existsSync(new URL('index.html', d)));
  for (const [path, { file, type }] of Object.entries(FILES)) {
    const body =
      dir && existsSync(new URL(file, dir)) ? readFileSync(new URL(file, dir)) : undefined;
    app.get(path, async (_request, reply) => {
      if (!body) {
        return reply
          .code(404)
          .type('text/plain; charset=utf-8')
          .send('The dashboard is not built: run `npm run build:web` (npm start does it).');
      }
      return reply.type(type).header('cache-control', 'no-cache').send(body);
    });
  }
}
