// The SQLite store constructors, by the Stores field each fills (shared/assemble.ts).
export { createSqliteApiKeyStore as apiKeys, createSqliteAppStore as apps } from './admin.store.js';
export { createSqliteDeliveryStore as delivery } from './delivery.store.js';
export { createSqliteEventRecorder as events } from './events.store.js';
export { createSqliteFactorStore as factors } from './factors.store.js';
export {
  createSqliteAppLimitsStore as appLimits,
  createSqliteBlocklistStore as blocklist,
  createSqliteCounterSnapshot as counterSnapshot,
  createSqliteCounterStore as counters,
} from './limits.store.js';
export { createSqliteOptinStore as optin } from './optin.store.js';
export { createSqliteReportsStore as reports } from './reports.store.js';
export { createSqliteEventRetentionStore as eventRetention } from './retention.store.js';
export { createSqliteSigningKeyStore as signingKeys } from './signing-keys.store.js';
export { createSqliteVerificationStore as verifications } from './verification.store.js';
export { createSqliteWebhookStore as webhooks } from './webhooks.store.js';
