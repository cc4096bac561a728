/** The domain core as unit tests open it: a fake clock and, unless given, an in-memory store. */
import type { FakeClock } from '../../src/clock.js';
import { Market, type MarketOptions } from '../../src/domain/market.js';
import { SqliteStore } from '../../src/store/store-sqlite.js';

export function openMarket(clock: FakeClock, over: Partial<MarketOptions> = {}): Promise<Market> {
  return Market.open({
    clock,
    store: new SqliteStore(':memory:'),
    ttpSeconds: 60,
    flavorTtlSeconds: 300,
    contractDays: 30,
    history: { maxEvents: 1000, maxAgeMs: 900_000 },
    onFatal: (err) => {
      throw err;
    },
    ...over,
  });
}
