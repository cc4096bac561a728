import { describe, expect, it } from 'vitest';
import {
  formatQuantity,
  parseDecimal,
  parseKnownQuantity,
  parseQuantity,
} from '../../src/domain/quantity.js';

const NANO = 1_000_000_000n;

describe('parseQuantity', () => {
  it.each([
    ['1', NANO],
    ['1000m', NANO],
    ['500m', NANO / 2n],
    ['250u', 250_000n],
    ['7n', 7n],
    ['2k', 2000n * NANO],
    ['1M', 10n ** 6n * NANO],
    ['1G', 10n ** 9n * NANO],
    ['1T', 10n ** 12n * NANO],
    ['1P', 10n ** 15n * NANO],
    ['1E', 10n ** 18n * NANO],
    ['1Ki', 1024n * NANO],
    ['1Mi', 1024n ** 2n * NANO],
    ['1Gi', 1024n ** 3n * NANO],
    ['1Ti', 1024n ** 4n * NANO],
    ['1Pi', 1024n ** 5n * NANO],
    ['1Ei', 1024n ** 6n * NANO],
    ['1.5', (3n * NANO) / 2n],
    ['0.5Gi', 512n * 1024n ** 2n * NANO],
    ['.25', NANO / 4n],
    ['2.', 2n * NANO],
    ['1e3', 1000n * NANO],
    ['1E3', 1000n * NANO],
    ['15e-1', (3n * NANO) / 2n],
    ['+3', 3n * NANO],
  ])('%s', (text, nanos) => {
    expect(parseQuantity(text)).toBe(nanos);
  });

  it('compares as quantities, not strings', () => {
    expect(parseQuantity('1000m')).toBe(parseQuantity('1'));
    expect(parseQuantity('1Gi')! > parseQuantity('1G')!).toBe(true);
    expect(parseQuantity('512Mi')! < parseQuantity('1G')!).toBe(true);
    expect(parseQuantity('10')! > parseQuantity('9')!).toBe(true);
  });

  it('rounds sub-nano precision up, as Kubernetes does', () => {
    expect(parseQuantity('0.1n')).toBe(1n);
    expect(parseQuantity('1.0000000001')).toBe(NANO + 1n);
  });

  it.each([
    '',
    'abc',
    '1x',
    '-1',
    '1 Gi',
    'Gi',
    '1.2.3',
    '1gi',
    '1Ki5',
    '1e99',
    '1e',
    'NaN',
    '∞',
    '1'.repeat(70),
  ])('rejects %j', (text) => {
    expect(parseQuantity(text)).toBeUndefined();
  });
});

describe('parseDecimal', () => {
  it('parses plain decimals and rejects suffixes', () => {
    expect(parseDecimal('12.50')).toBe(12n * NANO + NANO / 2n);
    expect(parseDecimal('0')).toBe(0n);
    expect(parseDecimal('1k')).toBeUndefined();
    expect(parseDecimal('1e3')).toBeUndefined();
    expect(parseDecimal('-1')).toBeUndefined();
    expect(parseDecimal('')).toBeUndefined();
  });
});

describe('formatQuantity', () => {
  it.each([
    [0n, false, '0'],
    [4n * NANO, false, '4'],
    [NANO / 2n, false, '500m'],
    [2000n * NANO, false, '2k'],
    [8n * 1024n ** 3n * NANO, true, '8Gi'],
    [1536n * 1024n ** 2n * NANO, true, '1536Mi'],
    [10n ** 9n * NANO, true, '1G'],
    [1001n * NANO, true, '1001'],
    [1500n, false, '1500n'],
  ])('%s → %s', (nanos, binary, text) => {
    expect(formatQuantity(nanos, binary)).toBe(text);
    expect(parseQuantity(text)).toBe(nanos);
  });
});

/** formatQuantity as it was first written, all in bigints: what the fast path must equal. */
function referenceFormat(nanos: bigint, binary: boolean): string {
  if (nanos === 0n) return '0';
  if (nanos % NANO === 0n) {
    const bin = ['Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki'].map(
      (s, i) => [s, 1024n ** BigInt(6 - i)] as const,
    );
    const dec = ['E', 'P', 'T', 'G', 'M', 'k'].map((s, i) => [s, 1000n ** BigInt(6 - i)] as const);
    for (const table of binary ? [bin, dec] : [dec]) {
      for (const [suffix, mult] of table) {
        if (nanos % (mult * NANO) === 0n) return `${nanos / (mult * NANO)}${suffix}`;
      }
    }
    return `${nanos / NANO}`;
  }
  if (nanos % 1_000_000n === 0n) return `${nanos / 1_000_000n}m`;
  if (nanos % 1_000n === 0n) return `${nanos / 1_000n}u`;
  return `${nanos}n`;
}

describe('formatQuantity against its all-bigint form', () => {
  it('writes the same text for whole, fractional, binary, decimal and huge amounts', () => {
    let seed = 12345;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const values: bigint[] = [
      1n,
      NANO,
      2n ** 53n * NANO,
      (2n ** 53n - 1n) * NANO,
      2n ** 70n * NANO,
    ];
    for (let i = 0; i < 5000; i++) {
      const base = BigInt(next(5000) + 1);
      const power = BigInt(next(8));
      const scaled = [
        base * 1024n ** power * NANO,
        base * 1000n ** power * NANO,
        base * 2n ** BigInt(next(80)) * NANO,
        base * 10n ** BigInt(next(12)),
      ];
      values.push(...scaled);
    }
    for (const v of values)
      for (const binary of [false, true])
        expect(formatQuantity(v, binary), `${v} ${binary}`).toBe(referenceFormat(v, binary));
  });
});

describe('parseKnownQuantity: parseQuantity, remembered', () => {
  it('answers a text parsed before, or refused before, as parseQuantity does', () => {
    for (let round = 0; round < 2; round++) {
      expect(parseKnownQuantity('2Gi')).toBe(2n * 1024n ** 3n * NANO);
      expect(parseKnownQuantity('1.5')).toBe(NANO + NANO / 2n);
      expect(parseKnownQuantity('-1')).toBeUndefined();
      expect(parseKnownQuantity('1'.repeat(70))).toBeUndefined();
    }
  });

  it('stays right past the number of texts it keeps', () => {
    for (let i = 0; i < 10_000; i++)
      expect(parseKnownQuantity(`${i}m`)).toBe(BigInt(i) * 1_000_000n);
    expect(parseKnownQuantity('3Ki')).toBe(3n * 1024n * NANO);
  });
});
