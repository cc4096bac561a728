/**
 * LIST's answers kept while the catalog does not change. Dashboards and agents poll with the
 * same few selectors; between two changes of the catalog each of them is answered by the same
 * bytes, so they are assembled once (the index walk, the selector's tests, the buffer) and
 * sent again as they are.
 *
 * Correct by construction rather than by expiry: every change to the catalog (an offer added,
 * refreshed, sold, withdrawn; a replica's feed) empties the cache (`clear`), and an answer is
 * kept only until the first of its own flavors expires — time passing can only take flavors
 * out of a LIST (an expired offer is hidden before the scheduler retracts it), never add one.
 *
 * Bounded by bytes: answers are evicted oldest first, and one larger than an eighth of the
 * bound is never kept (the whole catalog as one answer would evict every other selector).
 */
export interface CachedAnswer {
  /** What else the answer depends on beyond its key (the flavor type LIST was asked for). */
  readonly tag: string;
  readonly bytes: Buffer;
  /** The earliest expiry (ms) among the answer's flavors; Infinity for an empty answer. */
  readonly validUntil: number;
}

export class ListAnswers<K> {
  private readonly answers = new Map<K, CachedAnswer>();
  private bytes = 0;

  /** `maxBytes` 0 turns the cache off. */
  constructor(private readonly maxBytes: number) {}

  get(key: K, tag: string, now: number): Buffer | undefined {
    const hit = this.answers.get(key);
    if (hit === undefined || hit.tag !== tag) return undefined;
    if (hit.validUntil > now) return hit.bytes;
    this.drop(key, hit);
    return undefined;
  }

  set(key: K, answer: CachedAnswer): void {
    const size = answer.bytes.length;
    if (this.maxBytes === 0 || size > this.maxBytes / 8) return;
    const old = this.answers.get(key);
    if (old) this.drop(key, old);
    while (this.bytes + size > this.maxBytes) {
      const first = this.answers.entries().next().value as [K, CachedAnswer];
      this.drop(first[0], first[1]);
    }
    this.answers.set(key, answer);
    this.bytes += size;
  }

  /** The catalog changed: no kept answer is true any more. */
  clear(): void {
    if (this.answers.size === 0) return;
    this.answers.clear();
    this.bytes = 0;
  }

  get size(): number {
    return this.answers.size;
  }

  private drop(key: K, answer: CachedAnswer): void {
    this.answers.delete(key);
    this.bytes -= answer.bytes.length;
  }
}
