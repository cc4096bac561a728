/**
 * The browsable API reference (GET /docs) in a real browser: it renders from the hub's own
 * assets under its content security policy, lists the reservation route, and neither it nor
 * the dashboard trips the policy.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, CHROMIUM, launch } from '../helpers/browser.js';
import { startHub, type TestHub } from '../helpers/hub.js';

let browser: Browser;
let hub: TestHub;
let page: Page;
let problems: string[] = [];
const outside: string[] = [];

beforeAll(async () => {
  if (!chromiumAvailable())
    throw new Error(`chromium not found at ${CHROMIUM}: apt-get install chromium (.ci/run does)`);
  browser = await launch();
  hub = await startHub();
});
afterAll(async () => {
  await browser?.close();
  await hub?.close();
});
afterEach(async () => {
  await page?.close();
  expect(problems).toEqual([]);
  problems = [];
});

async function open(path: string): Promise<Page> {
  page = await browser.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('request', (r) => {
    if (!r.url().startsWith(hub.url) && !r.url().startsWith('data:')) outside.push(r.url());
  });
  // Violations are reported in the page as events too; collect them whatever the console says.
  await page.addInitScript({
    content: `document.addEventListener('securitypolicyviolation', (e) =>
      console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));`,
  });
  await page.goto(`${hub.url}${path}`);
  return page;
}

describe('GET /docs', () => {
  it('renders the reference from local assets and lists the reservation route', async () => {
    const p = await open('/docs');
    await p.locator('.swagger-ui .opblock').first().waitFor({ timeout: 15_000 });
    const paths = await p.locator('.opblock-summary-path').allTextContents();
    expect(paths.map((t) => t.replace(/\u200b/g, ''))).toContain('/api/v2/reservations');
    await expect(p.title()).resolves.toMatch(/Swagger UI/i);
    expect(outside).toEqual([]);
  });

  it('the dashboard passes the same content security policy', async () => {
    const p = await open(`/#token=tok-consumer-0`);
    await p.locator('#conn[data-state="live"]').waitFor();
    expect(outside).toEqual([]);
  });
});
