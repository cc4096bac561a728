/**
 * A small whole-unit k8slice Flavor for unit tests of the shared market (its feed, the entries
 * it holds): `cpu` and the price's `amount` tell versions of one flavor apart.
 */
import type { Flavor } from '../../src/types/wire.js';

export function k8sliceFlavor(
  id: string,
  cpu: number,
  { amount = '1.00', domain = 'd' }: { amount?: string; domain?: string } = {},
): Flavor {
  return {
    flavorId: id,
    providerId: 'p',
    timestamp: '2026-01-01T00:00:00.000Z',
    expirationTime: '2027-01-01T00:00:00.000Z',
    type: {
      name: 'k8slice',
      data: {
        characteristics: { architecture: 'amd64', cpu: String(cpu), memory: '8Gi', pods: '110' },
      },
    },
    price: { amount, currency: 'EUR', period: 'hour' },
    owner: { domain, nodeId: 'p', ip: '1' },
    availability: true,
  };
}
