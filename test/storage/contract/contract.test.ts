import { describe } from 'vitest';
import { adminContract } from './admin.contract.js';
import { describeCounters, describeStores, SKIP_REASONS } from './backends.js';
import { countersContract } from './counters.contract.js';
import { deliveryContract } from './delivery.contract.js';
import { eventsContract } from './events.contract.js';
import { factorsContract } from './factors.contract.js';
import { healthContract } from './health.contract.js';
import { limitsContract } from './limits.contract.js';
import { optinContract } from './optin.contract.js';
import { reportsContract, reportsParityContract } from './reports.contract.js';
import { verificationContract } from './verification.contract.js';
import { webhooksContract } from './webhooks.contract.js';

/**
 * The store contract suite: the documented contracts of every store (src/**\/*.store.ts), one file
 * of cases per store, each run on every backend that implements it (backends.ts): SQLite always,
 * PostgreSQL when DATABASE_URL is set, and for the counters Redis when REDIS_URL is set.
 */

describeStores('admin stores', adminContract);
describeStores('verification store', verificationContract);
describeStores('delivery store (fallbacks, statuses)', deliveryContract);
describeStores('event recorder and retention', eventsContract);
describeStores('limits stores', limitsContract);
describeCounters('counter store', countersContract);
describeStores('opt-in store', optinContract);
describeStores('factor store', factorsContract);
describeStores('reports store', reportsContract);
describeStores('database health', healthContract);
describeStores('webhook store (endpoints, outbox, leases)', webhooksContract);

const parity = 'reports store: PostgreSQL answers exactly as SQLite on the same records';
if (SKIP_REASONS.postgres)
  describe.skip(`${parity} (skipped: ${SKIP_REASONS.postgres})`, reportsParityContract);
else describe(parity, reportsParityContract);
