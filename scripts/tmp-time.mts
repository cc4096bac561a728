import { buildApp } from '../src/app.js';
const ts: number[] = [];
for (let i = 0; i < 6; i++) {
  const t = performance.now();
  const app = await buildApp({ db: ':memory:', tokens: [] });
  ts.push(Math.round(performance.now() - t));
  await app.close();
}
console.log(ts.join(' '));
