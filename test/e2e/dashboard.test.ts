/**
 * The dashboard in a real browser (Debian's chromium, headless, via playwright-core) against
 * a real hub on port 0.
 */
import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, CHROMIUM, launch } from '../helpers/browser.js';
import { k8slice, startHub, type TestHub } from '../helpers/hub.js';

const OUT = new URL('../../test-output/', import.meta.url);
const P = 'tok-provider-a';
const C0 = 'tok-consumer-0';
const C1 = 'tok-consumer-1';

let browser: Browser;
let hub: TestHub;
let pages: Page[] = [];
let problems: string[] = [];

beforeAll(async () => {
  if (!chromiumAvailable())
    throw new Error(`chromium not found at ${CHROMIUM}: apt-get install chromium (.ci/run does)`);
  browser = await launch();
  mkdirSync(OUT, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  for (const p of pages) await p.close();
  pages = [];
  await hub?.close();
  expect(problems).toEqual([]);
  problems = [];
});

async function open(token: string, width = 1280): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  pages.push(page);
  await page.goto(`${hub.url}/#token=${encodeURIComponent(token)}`);
  await page.locator('#conn[data-state="live"]').waitFor();
  return page;
}

async function publish(body: unknown = k8slice()): Promise<any> {
  const r = await hub.api('POST', '/api/v2/flavors', P, body);
  expect(r.status).toBe(201);
  return r.body;
}

const row = (page: Page, flavorId: string) =>
  page.locator(`#offers tr[data-flavor-id="${flavorId}"]`);

describe('the live dashboard', () => {
  it('signs in and shows the offers of the snapshot; a screenshot at 1280 px', async () => {
    hub = await startHub();
    const a = await publish(k8slice({ cpu: '8' }));
    const b = await publish({
      type: {
        name: 'sensor',
        data: { Characteristics: { SensorType: 'temperature', SamplingRate: 2 } },
      },
      price: { amount: '0.02', currency: 'EUR', period: 'hour' },
    });
    const page = await open(C0);
    await expect.poll(() => page.locator('#offers tbody tr').count()).toBe(2);
    expect(await row(page, a.flavorId).locator('.c-summary').innerText()).toContain('8 CPU');
    expect(await row(page, b.flavorId).locator('.c-type').innerText()).toMatch(/sensor/i);
    expect(await page.locator('#who').innerText()).toContain('cons-0');
    await page.screenshot({ path: new URL('dashboard-1280.png', OUT).pathname, fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: new URL('dashboard-phone.png', OUT).pathname });
  });

  it('removes a row withdrawn through the API within a second, with its reason in the log; a refresh updates the price in place', async () => {
    hub = await startHub();
    const a = await publish();
    const b = await publish();
    const page = await open(C0);
    await row(page, a.flavorId).waitFor();
    await hub.api('POST', `/api/v2/flavors/${b.flavorId}/refresh`, P, {
      price: { amount: '4.20', currency: 'EUR', period: 'hour' },
    });
    await expect
      .poll(() => row(page, b.flavorId).locator('.c-price').innerText(), { timeout: 1000 })
      .toContain('4.20');
    expect(await row(page, b.flavorId).locator('.changes').innerText()).toContain(
      'price.amount: 1.00 → 4.20',
    );
    const t0 = Date.now();
    await hub.api('POST', `/api/v2/flavors/${a.flavorId}/withdraw`, P, {
      Reason: { Message: 'rack on fire' },
    });
    await row(page, a.flavorId).waitFor({ state: 'detached', timeout: 1000 });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(await page.locator('#log').innerText()).toContain('operator: rack on fire');
  });

  it('reserve → purchase through the UI yields a contract under "My contracts", confirmed live', async () => {
    hub = await startHub();
    const a = await publish();
    const page = await open(C0);
    await row(page, a.flavorId).locator('button.reserve').click();
    const hold = page.locator('#holds li.hold[data-tx]');
    await hold.waitFor();
    expect(await hold.locator('.countdown').innerText()).toMatch(/\d+s/);
    await hold.locator('button.purchase').click();
    await page.locator('#contracts li').first().waitFor();
    expect(await page.locator('#contracts li').count()).toBe(1);
    await expect.poll(() => page.locator('#log').innerText()).toContain('confirmed');
    await row(page, a.flavorId).waitFor({ state: 'detached' });
    const api = await hub.api('GET', '/api/v2/contracts', C0);
    expect(api.body).toHaveLength(1);
    expect(await page.locator('#contracts li').getAttribute('data-contract')).toBe(
      api.body[0].ContractID,
    );
  });

  it('shows the wait while another buyer holds the flavor, then the hold', async () => {
    hub = await startHub();
    const a = await publish();
    const first = await hub.api('POST', '/api/v2/reservations', C1, { FlavorID: a.flavorId });
    const page = await open(C0);
    await row(page, a.flavorId).locator('button.reserve').click();
    await page.locator('#holds li.hold.waiting').waitFor();
    await hub.api('DELETE', `/api/v2/transactions/${first.body.TransactionID}`, C1);
    await page.locator('#holds li.hold[data-tx]').waitFor();
    await page.locator('#holds li.hold[data-tx] button.cancel').click();
    await page.locator('#holds li').waitFor({ state: 'detached' });
  });

  it('a provider publishes through the form and the offer appears on a second, consumer page', async () => {
    hub = await startHub();
    const consumer = await open(C0);
    const provider = await open(P);
    await provider.locator('#p-type').selectOption('vm');
    await provider.locator('#p-fields input[name="CPU"]').fill('12');
    await provider.locator('#publish input[name="price"]').fill('0.77');
    await provider.locator('#publish button[type="submit"]').click();
    const added = consumer.locator('#offers tbody tr').filter({ hasText: '12 vCPU' });
    await added.waitFor({ timeout: 3000 });
    expect(await added.locator('.c-price').innerText()).toContain('0.77');
    // The provider may withdraw it from its own page, with a reason.
    const own = provider.locator('#offers tbody tr').filter({ hasText: '12 vCPU' });
    await own.locator('button.withdraw').click();
    await provider.locator('#dialog input[name="reason"]').fill('test over');
    await provider.locator('#dialog button[type="submit"]').click();
    await added.waitFor({ state: 'detached', timeout: 3000 });
    expect(await consumer.locator('#log').innerText()).toContain('test over');
  });

  it('a service published through the form carries the description and lists typed in it', async () => {
    hub = await startHub();
    const provider = await open(P);
    await provider.locator('#p-type').selectOption('service');
    await provider.locator('#p-fields input[name="Description"]').fill('Backups nightly');
    await provider.locator('#p-fields input[name="tags"]').fill(' sql, ,ha ');
    await provider.locator('#publish button[type="submit"]').click();
    await provider.locator('#offers tbody tr').filter({ hasText: 'PostgreSQL 16' }).waitFor();
    const r = await hub.api('GET', '/api/v2/flavors/services', P);
    const c = (r.body as Array<{ type: { data: { Characteristics: Record<string, unknown> } } }>)[0]
      ?.type.data.Characteristics;
    expect(c).toMatchObject({
      Name: 'PostgreSQL 16',
      Description: 'Backups nightly',
      Tags: ['sql', 'ha'],
      HostingPolicies: ['provider', 'consumer'],
    });
  });

  it('resumes after the WebSocket is cut, without losing an event sent meanwhile', async () => {
    hub = await startHub();
    const a = await publish();
    const page = await open(C0);
    await row(page, a.flavorId).waitFor();
    // Cut every socket from the hub's side, as a network fault would, and change the market
    // before the page can reconnect.
    const conns = (
      hub.app.hub as unknown as { connections: Set<{ socket: { terminate(): void } }> }
    ).connections;
    for (const c of conns) c.socket.terminate();
    const b = await publish(k8slice({ cpu: '6' }));
    await hub.api('POST', `/api/v2/flavors/${a.flavorId}/withdraw`, P, {
      Reason: { Message: 'while you were away' },
    });
    await page.locator('#conn[data-state="live"]').waitFor();
    await row(page, b.flavorId).waitFor({ timeout: 5000 });
    await row(page, a.flavorId).waitFor({ state: 'detached', timeout: 5000 });
    const log = await page.locator('#log').innerText();
    expect(log).toContain('resumed without a gap');
    expect(log).toContain('while you were away');
    expect(log).not.toContain('reloaded the offers');
  });

  it('filters: the filter becomes the subscription selector', async () => {
    hub = await startHub();
    const small = await publish(k8slice({ cpu: '2' }));
    const big = await publish(k8slice({ cpu: '16' }));
    const page = await open(C0);
    await row(page, small.flavorId).waitFor();
    await page.locator('#f-type').selectOption('k8slice');
    await page.locator('#f-cpu-min').fill('8');
    await page.locator('#filters button[type="submit"]').click();
    await row(page, small.flavorId).waitFor({ state: 'detached' });
    expect(await row(page, big.flavorId).count()).toBe(1);
    await publish(k8slice({ cpu: '1' }));
    const bigger = await publish(k8slice({ cpu: '32' }));
    await row(page, bigger.flavorId).waitFor();
    expect(await page.locator('#offers tbody tr').count()).toBe(2);
  });

  it('a refresh that takes an offer out of the filter removes its row; one that brings it in adds it', async () => {
    hub = await startHub();
    const cheap = await publish();
    const dear = await publish({
      ...k8slice(),
      price: { amount: '3.00', currency: 'EUR', period: 'hour' },
    });
    const page = await open(C0);
    await page.locator('#f-price-max').fill('2.00');
    await page.locator('#filters button[type="submit"]').click();
    await row(page, dear.flavorId).waitFor({ state: 'detached' });
    await row(page, cheap.flavorId).waitFor();
    const price = (amount: string) => ({ price: { amount, currency: 'EUR', period: 'hour' } });
    await hub.api('POST', `/api/v2/flavors/${cheap.flavorId}/refresh`, P, price('4.20'));
    await row(page, cheap.flavorId).waitFor({ state: 'detached', timeout: 2000 });
    expect(await page.locator('#log').innerText()).toContain(
      `${cheap.flavorId} changed and left the view`,
    );
    await hub.api('POST', `/api/v2/flavors/${dear.flavorId}/refresh`, P, price('1.50'));
    await row(page, dear.flavorId).waitFor({ timeout: 2000 });
    expect(await page.locator('#offers tbody tr').count()).toBe(1);
    // A filter the hub would refuse is refused on the page, and the view stays as it was.
    await page.locator('#f-price-max').fill('cheap');
    await page.locator('#filters button[type="submit"]').click();
    await expect.poll(() => page.locator('#log').innerText()).toContain('filter not applied');
    expect(await page.locator('#conn').getAttribute('data-state')).toBe('live');
    expect(await row(page, dear.flavorId).count()).toBe(1);
  });

  it('rejects an unknown token at sign-in', async () => {
    hub = await startHub();
    const page = await browser.newPage();
    pages.push(page);
    await page.goto(`${hub.url}/`);
    await page.locator('#token').fill('not-a-token');
    await page.locator('#signin-form button').click();
    await expect.poll(() => page.locator('#signin-error').innerText()).toContain('not known');
  });
});

describe('the market chart', () => {
  it('draws the market, and moves when the market moves; a screenshot', async () => {
    hub = await startHub();
    await publish(k8slice({ cpu: '8' }));
    await publish({
      ...k8slice({ cpu: '4' }),
      price: { amount: '0.40', currency: 'EUR', period: 'hour' },
    });
    await publish({
      type: { name: 'vm', data: { Characteristics: { CPU: 4, Memory: 8192 } } },
      price: { amount: '0.30', currency: 'EUR', period: 'hour' },
    });
    const page = await open(C0);
    const charts = page.locator('#market-charts');
    const latest = async () => JSON.parse((await charts.getAttribute('data-latest')) ?? 'null');
    await expect.poll(async () => (await latest())?.onSale.k8slice).toBe(2);
    expect((await latest()).onSale.vm).toBe(1);
    expect((await latest()).low.k8slice).toBe(0.4);
    const canvas = page.locator('#chart-counts canvas');
    const pixels = () => canvas.evaluate((c: any) => c.toDataURL() as string);
    // It draws: the canvas is not blank.
    const blank = await canvas.evaluate((c: any) => {
      const b = c.ownerDocument.createElement('canvas');
      b.width = c.width;
      b.height = c.height;
      return b.toDataURL() as string;
    });
    const before = await pixels();
    expect(before).not.toBe(blank);

    // The market moves: five new offers, one sale, one price rise.
    const added = [];
    for (const cpu of ['2', '4', '6', '8', '16']) added.push(await publish(k8slice({ cpu })));
    const tx = await hub.api('POST', '/api/v2/reservations', C1, { FlavorID: added[0].flavorId });
    await hub.api('POST', `/api/v2/transactions/${tx.body.TransactionID}/purchase`, C1, {});
    await hub.api('POST', `/api/v2/flavors/${added[1].flavorId}/refresh`, P, {
      price: { amount: '9.00', currency: 'EUR', period: 'hour' },
    });
    await expect.poll(async () => (await latest())?.onSale.k8slice, { timeout: 5000 }).toBe(6);
    await expect.poll(async () => (await latest())?.sales, { timeout: 5000 }).toBe(1);
    await expect.poll(async () => (await latest())?.high.k8slice, { timeout: 5000 }).toBe(9);
    expect(Number(await charts.getAttribute('data-points'))).toBeGreaterThan(1);
    expect(await pixels()).not.toBe(before);
    await page.locator('.market-panel').screenshot({
      path: new URL('market-chart.png', OUT).pathname,
    });
  });
});
