/**
 * The live dashboard, on the SDK (rear-hub/client) for every call and the live channel: offers
 * fed by a selector subscription and updated in place, a chart of the whole market fed by a
 * second subscription on the same WebSocket, buying (reserve, wait, purchase, cancel),
 * operating one's own offers, and a live event log.
 */
import type {
  Configuration,
  Flavor,
  FlavorPublish,
  ServerMessage,
  SubscriptionSelector,
  Transaction,
  Whoami,
} from '../types/wire.js';
import { factsOf } from '../domain/flavor-facts.js';
import { canManage } from '../domain/principal.js';
import { parseJsonSelector, type Selector } from '../domain/selector.js';
import {
  AuthenticationError,
  ExpiredError,
  HubApiError,
  RearHub,
  type ConnectionEvents,
  type SubscribedContext,
  type Subscription,
} from '../client/index.js';
import { MarketChart } from './chart.js';
import { countdown, now, price, reserveDefaults, summary, time } from './format.js';

/** What the connection pill shows. */
type LiveState = 'connecting' | 'live' | 'reconnecting' | 'offline';

/** An error as the page shows it: the hub's code and message. */
const says = (err: unknown): string =>
  err instanceof HubApiError ? `${err.code}: ${err.message}` : String(err);

type Me = Whoami;

type Child = Node | string | undefined | false;

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === 'text') node.textContent = String(v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== undefined && c !== false) node.append(c);
  return node;
}

function button(
  cls: string,
  text: string,
  label: string | undefined,
  onClick: () => Promise<void>,
): HTMLButtonElement {
  const b = el('button', { class: cls, type: 'button', text, 'aria-label': label });
  b.addEventListener('click', () => void onClick());
  return b;
}

const $ = <T extends HTMLElement>(sel: string): T => document.querySelector(sel) as T;

const TOKEN_KEY = 'rear-hub-token';

function tokenFromLocation(): string | undefined {
  const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (m?.[1]) {
    const token = decodeURIComponent(m[1]);
    sessionStorage.setItem(TOKEN_KEY, token);
    history.replaceState(null, '', location.pathname + location.search);
    return token;
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

class Dashboard {
  private readonly flavors = new Map<string, Flavor>();
  private readonly rows = new Map<string, HTMLTableRowElement>();
  private readonly holds = new Map<string, { tx: Transaction; item: HTMLLIElement }>();
  /** The offers table's subscription (the filter's selector). */
  private sub: Subscription | undefined;
  /** Every offer on the market, for the chart (same WebSocket). */
  private market: Subscription | undefined;
  private chart: MarketChart | undefined;
  private everLive = false;
  private ticker: ReturnType<typeof setInterval> | undefined;
  /**
   * The subscription's selector, compiled by the hub's own code: a refresh says only how the
   * flavor changed, and the page decides whether it still belongs in the view.
   */
  private view: Selector = parseJsonSelector({});

  constructor(
    private readonly hub: RearHub,
    private readonly me: Me,
  ) {}

  start(): void {
    $('#signin').hidden = true;
    $('#app').hidden = false;
    $('#who').textContent = `${this.me.identity.NodeID} (${this.me.role})`;
    $('#publish-section').hidden = this.me.role === 'consumer';
    this.bindFilters();
    this.bindPublish();
    $('#signout').addEventListener('click', () => {
      sessionStorage.removeItem(TOKEN_KEY);
      location.reload();
    });
    $('#reconnect').addEventListener('click', () => this.hub.connection.drop());
    this.hub.connection.on('state', (s) => this.connection(s));
    this.hub.connection.on('confirmation', (m) => this.event(m));
    this.hub.connection.on('error', (err) => this.log('error', says(err)));
    this.view = this.readFilter() ?? this.view;
    this.follow(this.view.json);
    this.chart = new MarketChart($('#market-charts'), now);
    const market = this.hub.subscribe({ selector: {} });
    market.on('event', (e) => this.chart?.event(e));
    this.market = market;
    this.ticker = setInterval(() => this.tick(), 1000);
    void this.loadContracts();
    // Exposed for the browser tests and for curious operators in the console.
    (window as unknown as { rearDashboard: unknown }).rearDashboard = {
      hub: this.hub,
      chart: this.chart,
    };
  }

  /** Subscribes the offers table to a selector (a new snapshot follows). */
  private follow(selector: SubscriptionSelector): void {
    this.sub?.unsubscribe();
    const sub = this.hub.subscribe({ selector });
    this.sub = sub;
    sub.on('subscribed', (ctx) => this.subscribed(ctx));
    sub.on('event', (m) => this.event(m));
    sub.on('error', (err) => this.log('error', says(err)));
  }

  // ---- live state -------------------------------------------------------------------

  private connection(s: ConnectionEvents['state']): void {
    if (s.state === 'closed') this.setState('offline');
    else if (s.state === 'disconnected')
      this.setState('reconnecting', `closed (${s.code ?? 'no code'}); reconnecting with backoff`);
    else if (s.state === 'connecting') this.setState(this.everLive ? 'reconnecting' : 'connecting');
  }

  private subscribed(ctx: SubscribedContext): void {
    this.everLive = true;
    if (ctx.recovered) return this.setState('live', 'resumed without a gap');
    this.snapshot(ctx.flavors, ctx.wasRecovering);
    this.setState('live');
  }

  private setState(state: LiveState, detail?: string): void {
    const pill = $('#conn');
    pill.dataset.state = state;
    pill.textContent = state === 'live' ? 'live' : state;
    pill.title = detail ?? '';
    if (detail) this.log('conn', `${state}: ${detail}`);
  }

  private snapshot(flavors: Flavor[], gap: boolean): void {
    this.flavors.clear();
    for (const row of this.rows.values()) row.remove();
    this.rows.clear();
    for (const f of flavors) this.upsert(f);
    this.updateEmpty();
    if (gap) this.log('conn', 'history no longer reached back: reloaded the offers');
  }

  private event(m: ServerMessage): void {
    switch (m.type) {
      case 'FLAVOR_ADDED':
        this.upsert(m.Flavor, 'added');
        this.log(
          'added',
          `${m.Flavor.type.name} ${m.flavorId} from ${m.Flavor.providerId}: ${summary(m.Flavor)}, ${price(m.Flavor)}`,
        );
        break;
      case 'REFRESH_FLAVOR': {
        const changes = m.ModificationDetails.filter((d) => d.FieldModified !== 'timestamp');
        if (!this.view.test(factsOf(m.Flavor))) {
          this.leave(m.flavorId, 'no longer matches the filter');
          this.log(
            'refresh',
            `${m.flavorId} changed and left the view: no longer matches the filter`,
          );
          break;
        }
        this.upsert(
          m.Flavor,
          'changed',
          changes.map((d) => `${d.FieldModified}: ${fmt(d.OldValue)} → ${fmt(d.NewValue)}`),
        );
        const what = changes.filter((d) => d.FieldModified !== 'expirationTime');
        this.log(
          'refresh',
          `${m.flavorId} ${what.length ? what.map((d) => `${d.FieldModified} ${fmt(d.OldValue)} → ${fmt(d.NewValue)}`).join(', ') : 'renewed'}`,
        );
        break;
      }
      case 'WITHDRAW_FLAVOR':
        this.withdrawn(m.flavorId, `${m.Reason.Code}: ${m.Reason.Message}`);
        this.log('withdraw', `${m.flavorId} withdrawn (${m.Reason.Code}: ${m.Reason.Message})`);
        break;
      case 'CONFIRM_RESERVATION':
        this.log('confirm', `contract ${m.ContractID} confirmed for ${m.FlavorID}`);
        void this.loadContracts();
        break;
      case 'ERROR':
        this.log('error', `${m.code}: ${m.message}`);
        break;
      default:
        break;
    }
  }

  // ---- the offers table -------------------------------------------------------------

  private upsert(f: Flavor, mark?: 'added' | 'changed', changes: string[] = []): void {
    this.flavors.set(f.flavorId, f);
    let row = this.rows.get(f.flavorId);
    const fresh = !row;
    if (!row) {
      row = el('tr', { 'data-flavor-id': f.flavorId });
      this.rows.set(f.flavorId, row);
      const body = $('#offers tbody');
      if (mark === 'added') body.prepend(row);
      else body.append(row);
    }
    row.replaceChildren(
      el(
        'td',
        { class: 'c-type', 'data-label': 'Type' },
        el('span', { class: `tag t-${f.type.name}`, text: f.type.name }),
      ),
      el('td', { class: 'c-provider', 'data-label': 'Provider', text: f.providerId }),
      el(
        'td',
        { class: 'c-summary', 'data-label': 'Offer' },
        el('div', { text: summary(f) }),
        changes.length > 0 && el('div', { class: 'changes', text: changes.join(' · ') }),
      ),
      el('td', { class: 'c-price', 'data-label': 'Price', text: price(f) }),
      el('td', {
        class: 'c-expires',
        'data-label': 'Expires in',
        'data-until': f.expirationTime,
        text: countdown(Date.parse(f.expirationTime), now()),
      }),
      el('td', { class: 'c-actions', 'data-label': '' }, ...this.actions(f)),
    );
    row.classList.toggle('unavailable', !f.availability);
    if (mark && !fresh) flash(row, 'changed');
    if (mark === 'added') flash(row, 'added');
    this.updateEmpty();
  }

  private actions(f: Flavor): HTMLElement[] {
    const id = f.flavorId;
    const out = [button('reserve', 'Reserve', `Reserve ${id}`, () => this.reserve(id))];
    if (canManage(this.me, f.providerId)) {
      out.push(
        button('refresh secondary', 'Refresh', `Refresh ${id}`, () => this.refresh(id)),
        button('withdraw danger', 'Withdraw', `Withdraw ${id}`, () => this.withdraw(id)),
      );
    }
    return out;
  }

  private withdrawn(flavorId: string, reason: string): void {
    this.leave(flavorId, `withdrawn — ${reason}`);
  }

  /** Takes a row out of the table, showing why for a moment first. */
  private leave(flavorId: string, why: string): void {
    this.flavors.delete(flavorId);
    const row = this.rows.get(flavorId);
    if (!row) return;
    this.rows.delete(flavorId);
    row.classList.add('withdrawn');
    const cell = row.querySelector('.c-summary');
    cell?.append(el('div', { class: 'reason', text: why }));
    for (const b of row.querySelectorAll('button')) b.disabled = true;
    setTimeout(() => {
      row.remove();
      this.updateEmpty();
    }, 700);
  }

  private updateEmpty(): void {
    $('#empty').hidden = this.rows.size > 0;
    $('#count').textContent = String(this.rows.size);
  }

  private tick(): void {
    const t = now();
    if (this.market?.state === 'subscribed') this.chart?.sample(this.market.view.values());
    for (const cell of document.querySelectorAll<HTMLElement>('[data-until]')) {
      cell.textContent = countdown(Date.parse(cell.dataset.until as string), t);
    }
  }

  // ---- filters ------------------------------------------------------------------------

  private selector(): SubscriptionSelector {
    const v = (id: string) => ($(`#${id}`) as HTMLInputElement).value.trim();
    const type = v('f-type');
    const filter: NonNullable<SubscriptionSelector['filter']> = {};
    if (v('f-provider')) filter.providerId = { match: v('f-provider') };
    if (v('f-price-max')) filter.price = { range: { max: v('f-price-max') } };
    if (type === 'k8slice' || type === 'vm') {
      if (v('f-cpu-min')) filter.cpu = { range: { min: v('f-cpu-min') } };
      if (v('f-memory-min')) filter.memory = { range: { min: v('f-memory-min') } };
      if (v('f-arch')) filter.architecture = { match: v('f-arch') };
    }
    return { ...(type ? { type: type as SubscriptionSelector['type'] } : {}), filter };
  }

  /** The filter form compiled by the hub's own selector code; undefined (and logged) if invalid. */
  private readFilter(): Selector | undefined {
    try {
      return parseJsonSelector(this.selector());
    } catch (err) {
      this.log('error', `filter not applied: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
  }

  private bindFilters(): void {
    const form = $<HTMLFormElement>('#filters');
    const sync = () => {
      const typed = ['k8slice', 'vm'].includes(($('#f-type') as HTMLSelectElement).value);
      for (const n of form.querySelectorAll<HTMLElement>('.typed')) n.hidden = !typed;
    };
    $('#f-type').addEventListener('change', sync);
    sync();
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const view = this.readFilter();
      if (!view) return;
      this.view = view;
      this.follow(view.json);
      this.log('filter', `subscribed to ${JSON.stringify(view.json)}`);
    });
  }

  // ---- buying -------------------------------------------------------------------------

  private async reserve(flavorId: string): Promise<void> {
    const f = this.flavors.get(flavorId);
    if (!f) return;
    let configuration: Configuration | undefined;
    const defaults = reserveDefaults(f);
    if (defaults) {
      const values = await ask(`Reserve part of ${flavorId}`, defaults);
      if (!values) return;
      configuration =
        f.type.name === 'vm'
          ? { type: 'vm', data: { Count: Number(values.Count) } }
          : {
              type: 'k8slice',
              data: { cpu: values.cpu, memory: values.memory, pods: values.pods },
            };
    }
    const item = el(
      'li',
      { class: 'hold waiting', 'data-flavor': flavorId },
      el('span', { text: `Waiting in line for ${flavorId}…` }),
    );
    $('#holds').prepend(item);
    $('#holds-empty').hidden = true;
    try {
      const tx = await this.hub.reserve(flavorId, {
        wait: 120,
        ...(configuration ? { Configuration: configuration } : {}),
      });
      this.showHold(tx, item, f);
      this.log(
        'hold',
        `holding ${flavorId} until ${time(tx.ExpirationTime)} (${tx.TransactionID})`,
      );
    } catch (err) {
      item.remove();
      this.toast(says(err), true);
      this.updateHoldsEmpty();
    }
  }

  private showHold(tx: Transaction, item: HTMLLIElement, f: Flavor): void {
    this.holds.set(tx.TransactionID, { tx, item });
    item.className = 'hold';
    item.dataset.tx = tx.TransactionID;
    const buy = button('purchase', 'Purchase', undefined, () => this.purchase(tx.TransactionID));
    const cancel = button('cancel secondary', 'Cancel', undefined, () =>
      this.cancel(tx.TransactionID),
    );
    item.replaceChildren(
      el('div', { class: 'hold-title', text: `${f.type.name} ${f.flavorId}` }),
      el('div', {
        class: 'muted',
        text: tx.Configuration
          ? `part: ${Object.entries(tx.Configuration.data)
              .map(([k, v]) => `${k} ${String(v)}`)
              .join(' · ')}`
          : summary(f),
      }),
      el(
        'div',
        {},
        'Time to purchase: ',
        el('strong', {
          class: 'countdown',
          'data-until': tx.ExpirationTime,
          text: countdown(Date.parse(tx.ExpirationTime), now()),
        }),
      ),
      el('div', { class: 'row' }, buy, cancel),
    );
  }

  private async purchase(txId: string): Promise<void> {
    try {
      const c = await this.hub.purchase(txId);
      this.toast(`Purchased: contract ${c.ContractID}`);
      this.endHold(txId);
      await this.loadContracts();
    } catch (err) {
      this.toast(says(err), true);
      if (err instanceof ExpiredError) this.endHold(txId);
    }
  }

  private async cancel(txId: string): Promise<void> {
    try {
      await this.hub.cancel(txId);
      this.log('hold', `cancelled ${txId}`);
    } catch (err) {
      this.toast(says(err), true);
    }
    this.endHold(txId);
  }

  private endHold(txId: string): void {
    this.holds.get(txId)?.item.remove();
    this.holds.delete(txId);
    this.updateHoldsEmpty();
  }

  private updateHoldsEmpty(): void {
    $('#holds-empty').hidden = $('#holds').children.length > 0;
  }

  private async loadContracts(): Promise<void> {
    const list = await this.hub.contracts.list().catch(() => []);
    const ul = $('#contracts');
    ul.replaceChildren(
      ...list.map((c) =>
        el(
          'li',
          { 'data-contract': c.ContractID },
          el(
            'details',
            {},
            el(
              'summary',
              {},
              el('strong', { text: c.Flavor.type.name }),
              ` ${summary(c.Flavor)} — ${price(c.Flavor)}`,
            ),
            el(
              'dl',
              {},
              ...kv('Contract', c.ContractID),
              ...kv('Transaction', c.TransactionID),
              ...kv('Seller', c.Seller.NodeID),
              ...kv('Buyer', c.Buyer.NodeID),
              ...kv('Bought', time(c.Timestamp)),
              ...kv('Runs until', new Date(c.ExpirationTime).toLocaleDateString()),
            ),
          ),
        ),
      ),
    );
    $('#contracts-empty').hidden = list.length > 0;
  }

  // ---- operating ----------------------------------------------------------------------

  private async refresh(flavorId: string): Promise<void> {
    const f = this.flavors.get(flavorId);
    if (!f) return;
    const values = await ask(`Refresh ${flavorId}`, {
      'price amount': f.price.amount,
      'ttl seconds': '300',
    });
    if (!values) return;
    try {
      await this.hub.flavors.refresh(flavorId, {
        price: { ...f.price, amount: values['price amount'] as string },
        ttlSeconds: Number(values['ttl seconds']),
      });
    } catch (err) {
      this.toast(says(err), true);
    }
  }

  private async withdraw(flavorId: string): Promise<void> {
    const values = await ask(`Withdraw ${flavorId}`, { reason: 'withdrawn by the operator' });
    if (!values) return;
    try {
      await this.hub.flavors.withdraw(flavorId, values.reason);
    } catch (err) {
      this.toast(says(err), true);
    }
  }

  private bindPublish(): void {
    const form = $<HTMLFormElement>('#publish');
    const typeSel = $<HTMLSelectElement>('#p-type');
    const render = () => {
      const fields = PUBLISH_FIELDS[typeSel.value as keyof typeof PUBLISH_FIELDS];
      $('#p-fields').replaceChildren(
        ...Object.entries(fields).map(([name, def]) =>
          el(
            'label',
            {},
            name,
            el('input', { name, value: def, required: name !== 'gpu cores' && name !== 'tags' }),
          ),
        ),
      );
    };
    typeSel.addEventListener('change', render);
    render();
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const data = Object.fromEntries(new FormData(form).entries()) as Record<string, string>;
      void this.publish(data);
    });
  }

  private async publish(d: Record<string, string>): Promise<void> {
    try {
      const body = publishBody(d);
      const f = await this.hub.flavors.publish(body);
      this.toast(`Published ${f.flavorId}`);
    } catch (err) {
      this.toast(says(err), true);
    }
  }

  // ---- log and toasts -----------------------------------------------------------------

  private log(kind: string, text: string): void {
    const ol = $('#log');
    ol.prepend(
      el(
        'li',
        { class: `k-${kind}` },
        el('time', { text: new Date().toLocaleTimeString() }),
        el('span', { class: 'kind', text: kind }),
        text,
      ),
    );
    while (ol.children.length > 200) ol.lastElementChild?.remove();
  }

  private toast(text: string, bad = false): void {
    const t = $('#toast');
    t.textContent = text;
    t.className = bad ? 'bad' : 'good';
    t.hidden = false;
    setTimeout(() => (t.hidden = true), 4000);
  }
}

const PUBLISH_FIELDS = {
  k8slice: {
    cpu: '4',
    memory: '8Gi',
    pods: '110',
    architecture: 'amd64',
    storage: '100Gi',
    'gpu cores': '',
    partitionable: 'yes',
  },
  vm: {
    CPU: '4',
    'Memory MiB': '8192',
    'Storage GiB': '100',
    OS: 'ubuntu-24.04',
    'machines (0 = one whole vm)': '4',
  },
  service: {
    Name: 'PostgreSQL 16',
    Description: 'Managed PostgreSQL with daily backups',
    Category: 'database',
    tags: 'sql,managed',
    'hosting policies': 'provider,consumer',
  },
  sensor: {
    SensorType: 'temperature',
    SensorModel: 'TMP117',
    SensorManufacturer: 'Texas Instruments',
    'SamplingRate Hz': '1',
  },
} as const;

/** "a, b,,c" → ["a", "b", "c"] */
const commaList = (text = ''): string[] =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function publishBody(d: Record<string, string>): FlavorPublish {
  const base = {
    price: { amount: d.price ?? '1.00', currency: d.currency || 'EUR', period: 'hour' },
    ttlSeconds: Number(d.ttl || 300),
    autoRenew: d.autoRenew === 'on',
  };
  switch (d.type) {
    case 'vm': {
      const machines = Number(d['machines (0 = one whole vm)'] || 0);
      return {
        ...base,
        type: {
          name: 'vm',
          data: {
            Characteristics: {
              CPU: Number(d.CPU),
              Memory: Number(d['Memory MiB']),
              Storage: Number(d['Storage GiB']),
              OS: d.OS ?? '',
            },
            ...(machines > 0
              ? { Policy: { Aggregatable: { MinCount: 1, MaxCount: machines } } }
              : {}),
          },
        },
      };
    }
    case 'service':
      return {
        ...base,
        type: {
          name: 'service',
          data: {
            Characteristics: {
              Name: d.Name ?? '',
              Description: d.Description ?? '',
              Category: d.Category ?? '',
              Tags: commaList(d.tags),
              HostingPolicies: commaList(d['hosting policies']),
              ConfigurationTemplate: { type: 'object' },
            },
          },
        },
      };
    case 'sensor':
      return {
        ...base,
        type: {
          name: 'sensor',
          data: {
            Characteristics: {
              SensorType: d.SensorType ?? '',
              SensorModel: d.SensorModel ?? '',
              SensorManufacturer: d.SensorManufacturer ?? '',
              SamplingRate: Number(d['SamplingRate Hz'] || 0),
            },
          },
        },
      };
    default: {
      const partitionable = /^(y|yes|true|on)$/i.test(d.partitionable ?? '');
      return {
        ...base,
        type: {
          name: 'k8slice',
          data: {
            characteristics: {
              cpu: d.cpu ?? '1',
              memory: d.memory ?? '1Gi',
              pods: d.pods ?? '10',
              ...(d.architecture ? { architecture: d.architecture } : {}),
              ...(d.storage ? { storage: d.storage } : {}),
              ...(d['gpu cores']
                ? { gpu: { model: 'generic', cores: d['gpu cores'], memory: '16Gi' } }
                : {}),
            },
            ...(partitionable
              ? {
                  policies: {
                    partitionability: {
                      cpuMin: '1',
                      memoryMin: '1Gi',
                      podsMin: '10',
                      cpuStep: '1',
                      memoryStep: '1Gi',
                      podsStep: '10',
                    },
                  },
                }
              : {}),
          },
        },
      };
    }
  }
}

function kv(k: string, v: string): HTMLElement[] {
  return [el('dt', { text: k }), el('dd', { text: v })];
}

function fmt(v: unknown): string {
  if (typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v)) return time(v);
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function flash(node: HTMLElement, cls: string): void {
  node.classList.remove(cls);
  void node.offsetWidth;
  node.classList.add(cls);
  setTimeout(() => node.classList.remove(cls), 2500);
}

/** A small modal form; resolves with its values, or undefined when dismissed. */
function ask(
  title: string,
  fields: Record<string, string>,
): Promise<Record<string, string> | undefined> {
  const dialog = $<HTMLDialogElement>('#dialog');
  const form = dialog.querySelector('form') as HTMLFormElement;
  $('#dialog-title').textContent = title;
  $('#dialog-fields').replaceChildren(
    ...Object.entries(fields).map(([name, value]) =>
      el('label', {}, name, el('input', { name, value, required: true })),
    ),
  );
  dialog.showModal();
  (dialog.querySelector('input') as HTMLInputElement | null)?.focus();
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      form.removeEventListener('submit', onSubmit);
      dialog.removeEventListener('close', onClose);
      const values = Object.fromEntries(new FormData(form).entries()) as Record<string, string>;
      if (dialog.open) dialog.close();
      resolve(ok ? values : undefined);
    };
    const onSubmit = (ev: Event) => {
      ev.preventDefault();
      done(true);
    };
    const onClose = () => done(false);
    // Wired here, not inline: the content security policy allows no inline handlers.
    $('#dialog-cancel').onclick = () => dialog.close();
    form.addEventListener('submit', onSubmit);
    dialog.addEventListener('close', onClose);
  });
}

async function signIn(token: string): Promise<void> {
  const hub = new RearHub({ url: location.origin, token });
  try {
    const me = await hub.whoami();
    new Dashboard(hub, me).start();
  } catch (err) {
    sessionStorage.removeItem(TOKEN_KEY);
    $('#signin-error').textContent =
      err instanceof AuthenticationError ? 'That token is not known to this hub.' : String(err);
    $('#signin').hidden = false;
  }
}

function main(): void {
  $('#signin-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const token = ($('#token') as HTMLInputElement).value.trim();
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    void signIn(token);
  });
  const token = tokenFromLocation();
  if (token) void signIn(token);
  else $('#signin').hidden = false;
}

main();
