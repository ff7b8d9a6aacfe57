import type { CounterHit, CounterState, CounterStore, LimitedHit } from './limits.store.js';

/**
 * The counter keys of the limits, in one place, because where a key is kept depends on its kind:
 * budgets (`rate:`) are divided among instances while Redis is down; lock-out state is kept in the
 * database whatever the counter store.
 */
export const counterKeys = {
  /** A rate limit's budget: `rate:<rule>:<app>:<subject>` (verification and factor limits). */
  rate: (rule: string, app: string, subject: string): string => `rate:${rule}:${app}:${subject}`,
  /** A hold on a number: no start and no check while it lasts. */
  hold: (app: string, number: string): string => `hold:${app}:${number}`,
  /** Lock-outs of a number in the last day (the hold's escalation). */
  lockouts: (app: string, number: string): string => `lockouts:${app}:${number}`,
  /** Approved verifications per number prefix in the hour (the conversion-collapse rule). */
  prefixApprovals: (app: string, prefix: string): string => `conv:approved:${app}:${prefix}`,
  /** Approved verifications per country in the hour (the country-conversion signal). */
  countryApprovals: (app: string, country: string): string =>
    `conv:country:approved:${app}:${country}`,
  /** Distinct numbers started from one address in the hour (the fan-out signal: read before a start, hit on a new number). */
  fanout: (app: string, ip: string): string => `sig:fanout:${app}:${ip}`,
  /** A number started in the last hour (the sequential-numbers signal looks its neighbours up). */
  started: (app: string, number: string): string => `sig:started:${app}:${number}`,
  /** A prefix the conversion rule has judged; not judged again while this lasts. */
  decided: (prefix: string): string => `conv:decided:${prefix}`,
};

const BUDGET_PREFIX = 'rate:';
const DURABLE_PREFIXES = ['hold:', 'lockouts:', 'conv:decided:'];

/** A rate limit's budget, the counters LIMITS_INSTANCES divides while Redis is unavailable. */
export function isBudgetKey(key: string): boolean {
  return key.startsWith(BUDGET_PREFIX);
}

/**
 * Lock-out state. Written only on a lock-out or a decision, and a security promise (NIST SP
 * 800-63B §5.2.2: failed attempts are limited per subscriber), so it lives in the database every
 * instance shares, like the blocklist: a Redis outage must not lift a hold.
 */
export function isDurableKey(key: string): boolean {
  return DURABLE_PREFIXES.some((prefix) => key.startsWith(prefix));
}

/**
 * One CounterStore over two: durable keys (isDurableKey) go to `durable`, every other key to
 * `shared`. Each key always goes to the same store, so each keeps its own store's guarantees.
 */
export function splitCounters(stores: {
  shared: CounterStore;
  durable: CounterStore;
}): CounterStore {
  const pick = (key: string): CounterStore => (isDurableKey(key) ? stores.durable : stores.shared);
  /** A batch split by store, each part sent to its store at once, the results put back in order. */
  async function inBoth<T>(
    items: readonly T[],
    keyOf: (item: T) => string,
    run: (store: CounterStore, part: T[]) => Promise<CounterState[]>,
  ): Promise<CounterState[]> {
    const durable = items.filter((item) => isDurableKey(keyOf(item)));
    const shared = items.filter((item) => !isDurableKey(keyOf(item)));
    const [fromDurable, fromShared] = await Promise.all([
      run(stores.durable, durable),
      run(stores.shared, shared),
    ]);
    let d = 0;
    let s = 0;
    return items.map(
      (item) => (isDurableKey(keyOf(item)) ? fromDurable[d++] : fromShared[s++]) as CounterState,
    );
  }
  return {
    hit: (key: string, windowMs: number, cost?: number): Promise<CounterState> =>
      pick(key).hit(key, windowMs, cost),
    hitMany: (hits: readonly CounterHit[]): Promise<CounterState[]> =>
      inBoth(
        hits,
        (h) => h.key,
        (store, part) => store.hitMany(part),
      ),
    hitUntil: (hits: readonly LimitedHit[]): Promise<CounterState[]> => {
      const store =
        hits.length > 0 && hits.every((h) => pick(h.key) === pick(hits[0]!.key))
          ? pick(hits[0]!.key)
          : undefined;
      return store
        ? store.hitUntil(hits)
        : hitUntilOneByOne(
            { hit: (key, windowMs, cost) => pick(key).hit(key, windowMs, cost) },
            hits,
          );
    },
    peek: (key: string): Promise<CounterState> => pick(key).peek(key),
    peekMany: (keys: readonly string[]): Promise<CounterState[]> =>
      inBoth(
        keys,
        (key) => key,
        (store, part) => store.peekMany(part),
      ),
    hold: (key: string, durationMs: number): Promise<void> => pick(key).hold(key, durationMs),
    close: async (): Promise<void> => {
      await Promise.all([stores.shared.close(), stores.durable.close()]);
    },
  };
}

/** `hitUntil` as one awaited hit after another: for a batch spanning two stores, and Redis's insurance when its script fails. */
export async function hitUntilOneByOne(
  store: Pick<CounterStore, 'hit'>,
  hits: readonly LimitedHit[],
): Promise<CounterState[]> {
  const totals: CounterState[] = [];
  for (const h of hits) {
    const total = await store.hit(h.key, h.windowMs, h.cost);
    totals.push(total);
    if (total.points > h.limit) break;
  }
  return totals;
}
