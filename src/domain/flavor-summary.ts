/**
 * A flavor's summary: what the catalog needs of a flavor besides its JSON (its availability
 * and the texts its selector facts are made of) as a short JSON array, stored beside the
 * flavor's row. A restart makes each catalog entry from it instead of parsing the whole flavor:
 * parsing 100,000 flavors' JSON (~500 bytes each, a dozen objects) for their facts was the
 * largest part of a restart's work on the event loop; a summary is ~90 bytes and one array.
 *
 * The facts are derived from it as `factsOf` derives them: a k8slice's from the same texts in
 * the same order (`k8sliceFacts`), the other types' by `factsOf` itself on an object holding
 * only the fields it reads; so they equal those of the flavor (a test checks it over varied
 * flavors). The first element is the layout's version: a summary of another
 * version (or none, on a row written before summaries) makes the loader parse the JSON.
 */
import type { Flavor, FlavorType, Sensor, Service, Vm } from '../types/wire.js';
import { factsOf, k8sliceFacts, k8sliceTexts, priceOf, type FlavorFacts } from './flavor-facts.js';

/** Change it whenever the layout or what `factsOf` reads changes. */
const VERSION = 1;

type Value = string | number | boolean | null | readonly string[];

/** The flavor's summary (JSON text: it holds no control character, like the flavor's JSON). */
export function summaryOf(flavor: Flavor): string {
  const t = flavor.type;
  const head: Value[] = [VERSION, flavor.availability, flavor.price.amount, t.name];
  switch (t.name) {
    case 'k8slice':
      // The architecture, then the quantities as factsOf reads them (K8sliceTexts).
      head.push(t.data.characteristics.architecture ?? null);
      for (const x of k8sliceTexts(t.data)) head.push(x ?? null);
      break;
    case 'vm': {
      const c = t.data.Characteristics;
      head.push(c.Architecture ?? null, c.OS ?? null, c.CPU ?? null, c.Memory ?? null);
      head.push(c.Storage ?? null, c.GPU?.GPUCores ?? null);
      break;
    }
    case 'service':
      head.push(t.data.Characteristics.Category, t.data.Characteristics.Tags);
      break;
    case 'sensor': {
      const c = t.data.Characteristics;
      head.push(c.SamplingRate ?? null, c.SensorType, c.SensorModel ?? null);
      head.push(c.SensorManufacturer ?? null);
      break;
    }
  }
  return JSON.stringify(head);
}

/** A flavor's facts but its provider and price: what flavors of one shape share. */
type Shape = Pick<FlavorFacts, 'type' | 'nums' | 'strings' | 'tags'>;

/**
 * Shapes by the summary's text after its price (the type's fields): flavors repeat a few
 * shapes, and a shape met before costs one lookup instead of a parse and a dozen memo
 * lookups (factsOf). Bounded like factsOf's memos: emptied when full.
 */
const shapes = new Map<string, Shape>();
const SHAPES_MAX = 65_536;
const HEAD_AVAILABLE = `[${VERSION},true,"`;
const HEAD_UNAVAILABLE = `[${VERSION},false,"`;

/** What a summary gives: undefined when it is not one this version wrote. */
export function fromSummary(
  summary: string,
  providerId: string,
): { available: boolean; facts: FlavorFacts } | undefined {
  // The head is read as text: a version, a boolean, then a Decimal (digits and a dot, so
  // nothing escaped). Anything else is left to JSON.parse.
  const available = summary.startsWith(HEAD_AVAILABLE);
  if (!available && !summary.startsWith(HEAD_UNAVAILABLE)) return parsed(summary, providerId);
  const from = available ? HEAD_AVAILABLE.length : HEAD_UNAVAILABLE.length;
  const to = summary.indexOf('"', from);
  if (to === -1 || summary.charCodeAt(to + 1) !== 0x2c) return parsed(summary, providerId);
  const rest = summary.slice(to + 2);
  const shape = shapes.get(rest);
  if (shape === undefined) {
    const made = parsed(summary, providerId);
    if (made) {
      if (shapes.size >= SHAPES_MAX) shapes.clear();
      const f = made.facts;
      shapes.set(rest, { type: f.type, nums: f.nums, strings: f.strings, tags: f.tags });
    }
    return made;
  }
  const price = priceOf(summary.slice(from, to));
  // The same fields in the same order as factsOf's: one shape of object for both.
  const facts: FlavorFacts = {
    type: shape.type,
    providerId,
    price,
    priceF: Number(price),
    nums: shape.nums,
    strings: shape.strings,
    tags: shape.tags,
  };
  return { available, facts };
}

/** A summary read whole: its fields parsed, its facts made by factsOf. */
function parsed(
  summary: string,
  providerId: string,
): { available: boolean; facts: FlavorFacts } | undefined {
  const v = JSON.parse(summary) as unknown;
  if (!Array.isArray(v) || v[0] !== VERSION) return undefined;
  if (v[3] === 'k8slice') {
    // Its quantities are K8sliceTexts from index 5: read in place, as factsOf reads them.
    const facts = k8sliceFacts(providerId, v[2] as string, opt<string>(v[4]), v, 5);
    return { available: v[1] === true, facts };
  }
  const type = typeOf(v as Value[]);
  if (!type) return undefined;
  // Only what factsOf reads: the rest of a Flavor is never looked at.
  const source = { providerId, price: { amount: v[2] as string }, type } as Flavor;
  return { available: v[1] === true, facts: factsOf(source) };
}

/** null in a summary is a field the flavor did not have. */
const opt = <T>(x: Value | undefined): T | undefined =>
  x === null || x === undefined ? undefined : (x as T);

function typeOf(v: Value[]): FlavorType | undefined {
  switch (v[3]) {
    case 'vm': {
      const cores = opt<number>(v[9]);
      const Characteristics = {
        Architecture: opt<string>(v[4]),
        OS: opt<string>(v[5]),
        CPU: opt<number>(v[6]),
        Memory: opt<number>(v[7]),
        Storage: opt<number>(v[8]),
        GPU: cores === undefined ? undefined : { GPUCores: cores },
      };
      return { name: 'vm', data: { Characteristics } as Vm };
    }
    case 'service':
      return {
        name: 'service',
        data: { Characteristics: { Category: v[4], Tags: v[5] } } as Service,
      };
    case 'sensor':
      return {
        name: 'sensor',
        data: {
          Characteristics: {
            SamplingRate: opt<number>(v[4]),
            SensorType: v[5],
            SensorModel: opt<string>(v[6]),
            SensorManufacturer: opt<string>(v[7]),
          },
        } as Sensor,
      };
    default:
      return undefined;
  }
}
