/**
 * Kubernetes quantities and decimals as exact integers. A value is held as a bigint count of
 * nano-units (1e-9), so "1000m" equals "1", "1Gi" exceeds "1G", and no float ever rounds.
 * Precision below one nano-unit is rounded up, as Kubernetes does.
 */

const NANO = 1_000_000_000n;

const SUFFIX: Record<string, bigint> = {
  n: 1n,
  u: 1_000n,
  m: 1_000_000n,
  '': NANO,
  k: 1_000n * NANO,
  M: 1_000_000n * NANO,
  G: 1_000_000_000n * NANO,
  T: 1_000_000_000_000n * NANO,
  P: 1_000_000_000_000_000n * NANO,
  E: 1_000_000_000_000_000_000n * NANO,
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  Pi: 1n << 50n,
  Ei: 1n << 60n,
};
/** The suffixes by power: 1024^k (or 1000^k) units is 1 of the k-th. */
const BINARY_UP = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'] as const;
const DECIMAL_UP = ['', 'k', 'M', 'G', 'T', 'P', 'E'] as const;
for (const k of BINARY_UP.slice(1)) SUFFIX[k] = (SUFFIX[k] as bigint) * NANO;

const QUANTITY_RE = /^\+?(\d+(?:\.\d*)?|\.\d+)(?:([eE][+-]?\d+)|([numkMGTPE]|[KMGTPE]i))?$/;
const DECIMAL_RE = /^\+?(\d+(?:\.\d*)?|\.\d+)$/;
const MAX_EXPONENT = 30;

function ceilDiv(a: bigint, b: bigint): bigint {
  return a % b === 0n ? a / b : a / b + 1n;
}

/** Splits "12.345" into the integer 12345 and the scale 3. */
function digits(text: string): { n: bigint; scale: number } {
  const [whole = '', frac = ''] = text.split('.');
  return { n: BigInt((whole || '0') + frac), scale: frac.length };
}

/**
 * Quantities already parsed, by text, for `parseKnownQuantity`. Bounded (emptied when full),
 * since the texts come from clients.
 */
const parsed = new Map<string, bigint | undefined>();
const PARSED_MAX = 4096;
const LONGEST = 64;

/** Parses a Kubernetes quantity into nano-units; undefined when it does not parse. */
export function parseQuantity(text: string): bigint | undefined {
  return text.length > LONGEST ? undefined : parse(text);
}

/**
 * `parseQuantity`, remembering the texts it parsed: for a reservation's Configuration (five
 * quantities each time, and a market's buyers ask for the same few sizes). A flavor's own
 * quantities are parsed once per change, and a restart parses 100,000 flavors' of every
 * size: those go through `parseQuantity`, which keeps nothing.
 */
export function parseKnownQuantity(text: string): bigint | undefined {
  // Longer texts are refused unread, and are not kept.
  if (text.length > LONGEST) return undefined;
  const known = parsed.get(text);
  if (known !== undefined || parsed.has(text)) return known;
  if (parsed.size >= PARSED_MAX) parsed.clear();
  const value = parse(text);
  parsed.set(text, value);
  return value;
}

function parse(text: string): bigint | undefined {
  if (text.length === 0) return undefined;
  const m = QUANTITY_RE.exec(text);
  if (!m) return undefined;
  const { n, scale } = digits(m[1] as string);
  if (m[2] !== undefined) {
    const exp = Number(m[2].slice(1)) - scale;
    if (Math.abs(exp) > MAX_EXPONENT) return undefined;
    // value = n * 10^exp units = n * 10^(exp+9) nanos
    const e9 = exp + 9;
    return e9 >= 0 ? n * 10n ** BigInt(e9) : ceilDiv(n, 10n ** BigInt(-e9));
  }
  const mult = SUFFIX[m[3] ?? ''] as bigint;
  return ceilDiv(n * mult, 10n ** BigInt(scale));
}

/** Parses a plain decimal ("12.50", no suffix) into nano-units. */
export function parseDecimal(text: string): bigint | undefined {
  if (text.length === 0 || text.length > 40) return undefined;
  if (!DECIMAL_RE.test(text)) return undefined;
  return parseQuantity(text);
}

/** A non-negative integer count (pods, MiB, cores) as nano-units. */
export function fromInteger(n: number): bigint {
  return BigInt(Math.trunc(n)) * NANO;
}

/** The suffixes and their nano-unit multiples, largest first (amounts past 2^53 units). */
const largestFirst = (names: readonly string[]): Array<[string, bigint]> =>
  names
    .slice(1)
    .reverse()
    .map((s) => [s, SUFFIX[s] as bigint]);
const BINARY = largestFirst(BINARY_UP);
const DECIMAL_SI = largestFirst(DECIMAL_UP);

/**
 * Writes nano-units as a quantity string. `binary` prefers Ki…Ei (memory, storage); both
 * styles fall back to the largest exact SI suffix, then to m, u or n for fractions.
 */
export function formatQuantity(nanos: bigint, binary = false): string {
  if (nanos === 0n) return '0';
  if (nanos % NANO === 0n) {
    const whole = nanos / NANO;
    // A sale writes its remainder's amounts: whole units below 2^53, done in doubles, exactly.
    if (whole > 0n && whole <= MAX_SAFE) return formatWhole(Number(whole), binary);
    const tables = binary ? [BINARY, DECIMAL_SI] : [DECIMAL_SI];
    for (const table of tables) {
      for (const [suffix, mult] of table) {
        if (nanos % mult === 0n) return `${nanos / mult}${suffix}`;
      }
    }
    return `${whole}`;
  }
  if (nanos % 1_000_000n === 0n) return `${nanos / 1_000_000n}m`;
  if (nanos % 1_000n === 0n) return `${nanos / 1_000n}u`;
  return `${nanos}n`;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** `formatQuantity` of a positive whole number of units below 2^53: its largest exact suffix. */
function formatWhole(units: number, binary: boolean): string {
  let n = units;
  let k = 0;
  if (binary) {
    while (k < 6 && n % 1024 === 0) {
      n /= 1024;
      k++;
    }
    if (k > 0) return `${n}${BINARY_UP[k] as string}`;
  }
  while (k < 6 && n % 1000 === 0) {
    n /= 1000;
    k++;
  }
  return `${n}${DECIMAL_UP[k] as string}`;
}
