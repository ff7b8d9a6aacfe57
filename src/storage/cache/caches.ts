import type { ApiKeyRecord, ApiKeyStore, AppSettings, AppStore } from '../../admin/admin.store.js';
import type {
  AppLimitsRecord,
  AppLimitsStore,
  BlockEntry,
  BlocklistStore,
  BlockSubject,
} from '../../limits/limits.store.js';

/**
 * Whether the rarely changed data the caches hold may have changed: a number that moves whenever
 * it may have. `current()` is called on every cached read, so it must be cheap and synchronous.
 * SQLite: the connection's `PRAGMA data_version` (moves on every commit of another connection or
 * process) plus this process's own writes. PostgreSQL: this process's writes, the `otp_cache`
 * notifications of every other writer and a poll of the `cache_version` row, both kept current by
 * triggers on the cached tables (storage/postgres/cache-version.ts).
 */
export interface CacheVersion {
  current(): number;
  /** This process changed cached data: every cache drops what it holds, at once. */
  changed(): void;
  close(): Promise<void>;
}

/** Entries a cache keeps at most (ids an attacker invents are cached too, as misses). */
const MAX_ENTRIES = 10_000;
/** A blocklist longer than this is not held in memory: its candidates are read from the database. */
const MAX_BLOCKLIST = 50_000;

/**
 * Values by key for one version of the data. A value read while the version moved (a write
 * committed meanwhile, here or elsewhere) is returned but not kept: it may be the old one.
 */
function versionedMap<V>(version: CacheVersion) {
  let at = version.current();
  const values = new Map<string, V>();
  const fresh = (): void => {
    const now = version.current();
    if (now !== at) {
      values.clear();
      at = now;
    }
  };
  return {
    async get(key: string, load: () => Promise<V>): Promise<V> {
      fresh();
      if (values.has(key)) return values.get(key) as V;
      const before = at;
      const value = await load();
      fresh();
      if (at === before) {
        if (values.size >= MAX_ENTRIES) values.clear();
        values.set(key, value);
      }
      return value;
    },
  };
}

/** Writes through, then every cache of this process drops its values (and other instances are told: see CacheVersion). */
async function writing<T>(version: CacheVersion, write: Promise<T>): Promise<T> {
  try {
    return await write;
  } finally {
    version.changed();
  }
}

export function cachedApiKeys(store: ApiKeyStore, version: CacheVersion): ApiKeyStore {
  const active = versionedMap<ApiKeyRecord | undefined>(version);
  return {
    insert: (key) => writing(version, store.insert(key)),
    findActive: (id) => active.get(id, () => store.findActive(id)),
    list: () => store.list(),
    revoke: (id, now) => writing(version, store.revoke(id, now)),
  };
}

export function cachedApps(store: AppStore, version: CacheVersion): AppStore {
  const byName = versionedMap<AppSettings | undefined>(version);
  return {
    get: (name) => byName.get(name, () => store.get(name)),
    findByServiceSid: (sid) => store.findByServiceSid(sid),
    list: (page) => store.list(page),
    ensure: (name, now) => writing(version, store.ensure(name, now)),
    create: (name, settings, now) => writing(version, store.create(name, settings, now)),
    upsert: (name, settings, now) => writing(version, store.upsert(name, settings, now)),
    remove: (name) => writing(version, store.remove(name)),
  };
}

export function cachedAppLimits(store: AppLimitsStore, version: CacheVersion): AppLimitsStore {
  const byApp = versionedMap<AppLimitsRecord | undefined>(version);
  return {
    get: (app) => byApp.get(app, () => store.get(app)),
    put: (app, overrides, now) => writing(version, store.put(app, overrides, now)),
  };
}

/** The unexpired entries by what they match, as BlocklistStore.candidates selects them. */
interface BlocklistIndex {
  exact: Map<string, BlockEntry[]>;
  cidrs: BlockEntry[];
}

function indexed(entries: readonly BlockEntry[]): BlocklistIndex {
  const exact = new Map<string, BlockEntry[]>();
  const cidrs: BlockEntry[] = [];
  for (const entry of entries) {
    if (entry.kind === 'cidr') {
      cidrs.push(entry);
      continue;
    }
    const key = `${entry.kind}:${entry.value}`;
    const list = exact.get(key);
    if (list) list.push(entry);
    else exact.set(key, [entry]);
  }
  return { exact, cidrs };
}

/** An E.164 number has at most 16 characters (shared/limits.ts looks up as many prefixes). */
const MAX_NUMBER_LENGTH = 16;

function candidatesOf(index: BlocklistIndex, subject: BlockSubject, now: number): BlockEntry[] {
  const found: BlockEntry[] = [];
  const add = (key: string): void => {
    for (const entry of index.exact.get(key) ?? []) found.push(entry);
  };
  add(`number:${subject.number}`);
  const longest = Math.min(MAX_NUMBER_LENGTH, subject.number.length);
  for (let i = 1; i <= longest; i++) add(`prefix:${subject.number.slice(0, i)}`);
  if (subject.country !== undefined) add(`country:${subject.country}`);
  if (subject.ip !== undefined) add(`ip:${subject.ip}`);
  found.push(...index.cidrs);
  return found.filter((entry) => entry.expiresAt === null || entry.expiresAt > now);
}

/**
 * The blocklist held in memory, indexed, for the candidates of every start; reloaded (one query)
 * when the version moves. Entries that expire meanwhile are filtered at each read.
 */
export function cachedBlocklist(store: BlocklistStore, version: CacheVersion): BlocklistStore {
  let held: { at: number; index: BlocklistIndex | undefined } | undefined;
  async function load(now: number): Promise<BlocklistIndex | undefined> {
    const at = version.current();
    if (held?.at === at) return held.index;
    const entries = await store.list(now, {});
    const index = entries.length > MAX_BLOCKLIST ? undefined : indexed(entries);
    if (version.current() === at) held = { at, index };
    return index;
  }
  return {
    insert: (entry) => writing(version, store.insert(entry)),
    insertAutoPrefixBlock: (entry, now) =>
      writing(version, store.insertAutoPrefixBlock(entry, now)),
    list: (now, filter) => store.list(now, filter),
    async candidates(subject, now) {
      const index = await load(now);
      return index ? candidatesOf(index, subject, now) : store.candidates(subject, now);
    },
    remove: (id) => writing(version, store.remove(id)),
  };
}

/** The stores whose reads every request makes, cached; the others unchanged. */
export function withCaches<
  S extends {
    apps: AppStore;
    apiKeys: ApiKeyStore;
    appLimits: AppLimitsStore;
    blocklist: BlocklistStore;
  },
>(stores: S, version: CacheVersion): S {
  return {
    ...stores,
    apps: cachedApps(stores.apps, version),
    apiKeys: cachedApiKeys(stores.apiKeys, version),
    appLimits: cachedAppLimits(stores.appLimits, version),
    blocklist: cachedBlocklist(stores.blocklist, version),
  };
}
