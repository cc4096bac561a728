/**
 * fast-check generators of flavor parts shared by the property tests of selector facts
 * (flavor-facts.test.ts) and flavor summaries (flavor-summary.test.ts).
 */
import fc from 'fast-check';
import type { K8Slice } from '../../src/types/wire.js';

/** Quantities as k8slices write them: plain, milli, binary and decimal suffixes, fractions. */
export const qty = fc.constantFrom('0', '1', '2', '500m', '1Gi', '16Gi', '110', '3', '20G', '1.5');

/** A k8slice's data, partitionable or not, with or without storage and GPU. */
export function k8sliceData(architectures: readonly string[]): fc.Arbitrary<K8Slice> {
  return fc.record(
    {
      characteristics: fc.record(
        {
          architecture: fc.constantFrom(...architectures),
          cpu: qty,
          memory: qty,
          pods: qty,
          storage: qty,
          gpu: fc.record({ model: fc.constant('x'), cores: qty, memory: qty }),
        },
        { requiredKeys: ['cpu', 'memory', 'pods'] },
      ),
      policies: fc.record({
        partitionability: fc.record(
          {
            cpuMin: qty,
            cpuStep: qty,
            memoryMin: qty,
            memoryStep: qty,
            podsMin: qty,
            podsStep: qty,
            gpuMin: qty,
            gpuStep: qty,
          },
          { requiredKeys: ['cpuMin', 'cpuStep', 'memoryMin', 'memoryStep', 'podsMin', 'podsStep'] },
        ),
      }),
    },
    { requiredKeys: ['characteristics'] },
  );
}
