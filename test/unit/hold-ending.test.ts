/**
 * A hold that ends (its TTP runs out, it is cancelled, its flavor is withdrawn) is written as
 * such a moment later; in between, every read must already see it ended — never the store's
 * not yet updated 'reserved' row.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/clock.js';
import type { Market } from '../../src/domain/market.js';
import type { Principal } from '../../src/domain/principal.js';
import { k8slice } from '../helpers/hub.js';
import { openMarket } from '../helpers/market.js';

const provider: Principal = {
  role: 'provider',
  identity: { Domain: 'p', NodeID: 'prov', IP: '1' },
};
const buyer: Principal = { role: 'consumer', identity: { Domain: 'b', NodeID: 'buyer', IP: '2' } };
const flush = async () => {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
};

let market: Market | undefined;
afterEach(async () => {
  market?.close();
  await market?.store.close();
  market = undefined;
});

async function held(): Promise<{ m: Market; clock: FakeClock; id: string; flavorId: string }> {
  const clock = new FakeClock();
  const m = await openMarket(clock);
  market = m;
  const flavor = await m.offers.publish(provider, k8slice());
  const tx = await m.reservations.reserve(buyer, { FlavorID: flavor.flavorId });
  return { m, clock, id: tx.TransactionID, flavorId: flavor.flavorId };
}

describe('a hold that has ended but is not yet written', () => {
  it('reads as expired the moment its TTP runs out, and a purchase is refused as expired', async () => {
    const { m, clock, id } = await held();
    clock.advance(60_000); // the TTP deadline fires; its write is still queued
    expect((await m.store.transaction(id))?.status).toBe('reserved');
    expect((await m.reservations.transaction(buyer, id)).Status).toBe('expired');
    await expect(m.reservations.purchase(buyer, id)).rejects.toMatchObject({
      code: 'TRANSACTION_EXPIRED',
      message: 'The Time To Purchase ran out',
    });
    await flush();
    expect((await m.store.transaction(id))?.status).toBe('expired');
    expect((await m.reservations.transaction(buyer, id)).Status).toBe('expired');
  });

  it('reads as cancelled while its cancel is written; a second cancel is 204 again once durable', async () => {
    const { m, id } = await held();
    const first = m.reservations.cancel(buyer, id);
    expect((await m.reservations.transaction(buyer, id)).Status).toBe('cancelled');
    const second = m.reservations.cancel(buyer, id);
    await expect(Promise.all([first, second])).resolves.toEqual([undefined, undefined]);
    expect((await m.store.transaction(id))?.status).toBe('cancelled');
  });

  it('reads as cancelled while the withdrawal of its flavor is written', async () => {
    const { m, id, flavorId } = await held();
    const withdrawn = m.offers.withdraw(provider, flavorId);
    expect((await m.reservations.transaction(buyer, id)).Status).toBe('cancelled');
    await withdrawn;
    expect((await m.store.transaction(id))?.status).toBe('cancelled');
    expect(m.reservations.stats()).toEqual({ holds: 0, waiters: 0 });
  });
});
