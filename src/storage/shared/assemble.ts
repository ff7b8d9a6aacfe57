import type { StoreOptions, Stores } from '../stores.js';
import { eventWriting, type EventWriting } from './events.js';

/**
 * One dialect's store constructors, by the Stores field each fills (sqlite/factories.ts,
 * postgres/factories.ts). A dialect without a counter snapshot leaves it out.
 */
export interface StoreFactories<Db> {
  delivery(db: Db): Stores['delivery'] & Stores['fallbacks'];
  apps(db: Db): Stores['apps'];
  apiKeys(db: Db): Stores['apiKeys'];
  signingKeys(db: Db): Stores['signingKeys'];
  verifications(db: Db, events: EventWriting): Stores['verifications'];
  events(db: Db, events: EventWriting): Stores['events'];
  eventRetention(db: Db): Stores['eventRetention'];
  counters(db: Db, clock: StoreOptions['clock']): Stores['counters'];
  counterSnapshot?(db: Db): NonNullable<Stores['counterSnapshot']>;
  blocklist(db: Db): Stores['blocklist'];
  appLimits(db: Db): Stores['appLimits'];
  factors(db: Db): Stores['factors'];
  optin(db: Db): Stores['optin'];
  reports(db: Db): Stores['reports'];
  webhooks(db: Db): Stores['webhooks'];
}

/** Every store of one dialect on one database; the dialect adds how it is pinged and how it fails. */
export function assembleStores<Db>(
  db: Db,
  options: StoreOptions,
  make: StoreFactories<Db>,
): Omit<Stores, 'ping' | 'isUnavailable'> {
  const events = eventWriting(options);
  // One implementation keeps delivery statuses and fallbacks (the same tables).
  const delivery = make.delivery(db);
  const stores: Omit<Stores, 'ping' | 'isUnavailable'> = {
    delivery,
    fallbacks: delivery,
    apps: make.apps(db),
    apiKeys: make.apiKeys(db),
    signingKeys: make.signingKeys(db),
    verifications: make.verifications(db, events),
    events: make.events(db, events),
    eventRetention: make.eventRetention(db),
    counters: make.counters(db, options.clock),
    blocklist: make.blocklist(db),
    appLimits: make.appLimits(db),
    factors: make.factors(db),
    optin: make.optin(db),
    reports: make.reports(db),
    webhooks: make.webhooks(db),
  };
  if (make.counterSnapshot) stores.counterSnapshot = make.counterSnapshot(db);
  return stores;
}
