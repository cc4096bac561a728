import { Registry, type Metric } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PlainHistogram } from '../../src/http/plain-histogram.js';

describe('PlainHistogram', () => {
  it('scrapes as a Prometheus histogram (cumulative buckets, +Inf, sum, count) and its count as a counter', async () => {
    const h = new PlainHistogram('t_seconds', 'test', [0.1, 1]);
    const a = h.series({ route: '/a' });
    const b = h.series({ route: '/b' });
    for (const v of [0.05, 0.1, 0.5, 3]) a.observe(v);
    b.observe(2);
    const registry = new Registry();
    registry.registerMetric(h.countAsCounter('t_total', 'count') as Metric);
    registry.registerMetric(h as unknown as Metric);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE t_seconds histogram');
    expect(text).toContain('t_seconds_bucket{route="/a",le="0.1"} 2');
    expect(text).toContain('t_seconds_bucket{route="/a",le="1"} 3');
    expect(text).toContain('t_seconds_bucket{route="/a",le="+Inf"} 4');
    expect(text).toContain('t_seconds_sum{route="/a"} 3.65');
    expect(text).toContain('t_seconds_count{route="/b"} 1');
    expect(text).toContain('t_seconds_bucket{route="/b",le="1"} 0');
    expect(text).toContain('# TYPE t_total counter');
    expect(text).toContain('t_total{route="/a"} 4');
  });
});
