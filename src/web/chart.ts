/**
 * The market at a glance: offers on sale by type and sales over the last minutes, and the
 * price range (cheapest to dearest) of each type, drawn with uPlot (bundled by
 * scripts/build-web.ts; nothing is fetched from outside). It samples a market-wide
 * subscription (selector {}) on the dashboard's one WebSocket once a second.
 */
import uPlot from 'uplot';
import type { Flavor } from '../types/wire.js';
import type { FlavorEvent } from '../client/index.js';

const TYPES = ['k8slice', 'vm', 'service', 'sensor'] as const;
const COLORS: Record<(typeof TYPES)[number], string> = {
  k8slice: '#8fb5ff',
  vm: '#c5a8ff',
  service: '#7fe0bd',
  sensor: '#f5cd7e',
};
const SALES = '#ff8fa3';
/** Seconds of history kept and shown. */
const WINDOW_S = 10 * 60;
/** Sales are counted over this trailing window, seconds. */
const SALES_WINDOW_S = 60;

/** The time axis spans what was sampled, at least a minute, ending now. */
const X_SCALE: uPlot.Scale = {
  time: true,
  range: (_u, min, max) => [Math.min(min, max - 60), max],
};

const AXIS = {
  stroke: '#93a0bd',
  grid: { stroke: '#2a3552', width: 1 },
  ticks: { stroke: '#2a3552' },
};

/** One point per second: the count on sale and the price range, by type, and recent sales. */
export interface Sample {
  t: number;
  onSale: Record<string, number>;
  low: Record<string, number | null>;
  high: Record<string, number | null>;
  sales: number;
}

/** A log scale has no place for 0 (a free offer) or nothing. */
const positive = (v: number | null | undefined): number | null => (v && v > 0 ? v : null);

/** A REFRESH that shrinks characteristics or the machine count is a partial sale. */
function isSale(e: FlavorEvent): boolean {
  if (e.type === 'WITHDRAW_FLAVOR') return e.Reason.Code === 'sold';
  if (e.type !== 'REFRESH_FLAVOR') return false;
  return e.ModificationDetails.some((d) =>
    /^type\.data\.(characteristics\.|Policy\.Aggregatable\.MaxCount)/.test(d.FieldModified),
  );
}

export class MarketChart {
  private readonly samples: Sample[] = [];
  private readonly sales: number[] = [];
  private readonly counts: uPlot;
  private readonly prices: uPlot;

  constructor(
    private readonly root: HTMLElement,
    private readonly now: () => number,
  ) {
    const width = this.width();
    this.counts = new uPlot(
      {
        title: 'Offers on sale, and sales',
        width,
        height: 220,
        scales: {
          x: X_SCALE,
          n: { range: (_u, _min, max) => [0, Math.max(4, max)] },
          s: { range: (_u, _min, max) => [0, Math.max(4, max)] },
        },
        axes: [
          AXIS,
          { ...AXIS, scale: 'n', label: 'offers' },
          {
            ...AXIS,
            scale: 's',
            side: 1,
            label: `sales / ${SALES_WINDOW_S} s`,
            grid: { show: false },
          },
        ],
        series: [
          {},
          ...TYPES.map((t) => ({ label: t, scale: 'n', stroke: COLORS[t], width: 2 })),
          { label: 'sales', scale: 's', stroke: SALES, width: 2, dash: [6, 4] },
        ],
        legend: { live: false },
      },
      [[]],
      this.slot('chart-counts'),
    );
    this.prices = new uPlot(
      {
        title: 'Price range by type: cheapest to dearest, per hour',
        width,
        height: 220,
        // Logarithmic: a sensor at 0.02 and a GPU slice at 6 per hour both stay readable.
        scales: { x: X_SCALE, y: { distr: 3 } },
        axes: [AXIS, { ...AXIS, label: 'price' }],
        series: [
          {},
          ...TYPES.flatMap((t) => [
            { label: `${t} max`, stroke: COLORS[t], width: 1.5 },
            { label: `${t} min`, stroke: COLORS[t], width: 1.5, dash: [3, 3] },
          ]),
        ],
        bands: TYPES.map((t, i) => ({ series: [1 + 2 * i, 2 + 2 * i], fill: `${COLORS[t]}33` })),
        // The colours are the left chart's; a legend of eight min/max lines would only be noise.
        legend: { show: false },
      },
      [[]],
      this.slot('chart-prices'),
    );
    new ResizeObserver(() => this.resize()).observe(root);
  }

  /** Counts a sale now, if the event is one. */
  event(e: FlavorEvent): void {
    if (isSale(e)) this.sales.push(this.now() / 1000);
  }

  /** Takes a sample of the market and redraws. */
  sample(flavors: Iterable<Flavor>): Sample {
    const t = Math.floor(this.now() / 1000);
    const onSale: Record<string, number> = {};
    const low: Record<string, number | null> = {};
    const high: Record<string, number | null> = {};
    for (const type of TYPES) {
      onSale[type] = 0;
      low[type] = null;
      high[type] = null;
    }
    for (const f of flavors) {
      if (!f.availability) continue;
      const type = f.type.name;
      const p = Number(f.price.amount);
      onSale[type] = (onSale[type] ?? 0) + 1;
      low[type] = Math.min(low[type] ?? p, p);
      high[type] = Math.max(high[type] ?? p, p);
    }
    while (this.sales.length && (this.sales[0] as number) < t - SALES_WINDOW_S) this.sales.shift();
    const s: Sample = { t, onSale, low, high, sales: this.sales.length };
    if (this.samples.at(-1)?.t === t) this.samples[this.samples.length - 1] = s;
    else this.samples.push(s);
    while ((this.samples[0]?.t ?? t) < t - WINDOW_S) this.samples.shift();
    this.draw();
    this.root.dataset.points = String(this.samples.length);
    this.root.dataset.latest = JSON.stringify(s);
    return s;
  }

  private draw(): void {
    const xs = this.samples.map((s) => s.t);
    this.counts.setData([
      xs,
      ...TYPES.map((type) => this.samples.map((s) => s.onSale[type] ?? 0)),
      this.samples.map((s) => s.sales),
    ]);
    this.prices.setData([
      xs,
      ...TYPES.flatMap((type) => [
        this.samples.map((s) => positive(s.high[type])),
        this.samples.map((s) => positive(s.low[type])),
      ]),
    ]);
  }

  private slot(id: string): HTMLElement {
    const div = document.createElement('div');
    div.id = id;
    div.className = 'chart';
    this.root.append(div);
    return div;
  }

  private width(): number {
    const w = this.root.clientWidth;
    const two = w >= 760;
    return Math.max(280, Math.floor(two ? (w - 16) / 2 : w));
  }

  private resize(): void {
    const width = this.width();
    if (width === this.counts.width) return;
    this.counts.setSize({ width, height: 220 });
    this.prices.setSize({ width, height: 220 });
  }
}
