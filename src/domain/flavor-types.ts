/** Flavor type names and the spellings the REST paths and selectors accept for them. */

export type FlavorTypeName = 'k8slice' | 'vm' | 'service' | 'sensor';

export const FLAVOR_TYPES: readonly FlavorTypeName[] = ['k8slice', 'vm', 'service', 'sensor'];

const SPELLINGS: Record<string, FlavorTypeName> = {
  k8slice: 'k8slice',
  k8slices: 'k8slice',
  vm: 'vm',
  vms: 'vm',
  service: 'service',
  services: 'service',
  sensor: 'sensor',
  sensors: 'sensor',
};

/** The type a path segment or selector `type` names, or undefined. */
export function typeFromSpelling(spelling: string): FlavorTypeName | undefined {
  return Object.hasOwn(SPELLINGS, spelling) ? SPELLINGS[spelling] : undefined;
}
