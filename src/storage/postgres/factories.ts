// The PostgreSQL store constructors, by the Stores field each fills (shared/assemble.ts).
export {
  createPostgresApiKeyStore as apiKeys,
  createPostgresAppStore as apps,
} from './admin.store.js';
export { createPostgresDeliveryStore as delivery } from './delivery.store.js';
export { createPostgresEventRecorder as events } from './events.store.js';
export { createPostgresFactorStore as factors } from './factors.store.js';
export {
  createPostgresAppLimitsStore as appLimits,
  createPostgresBlocklistStore as blocklist,
  createPostgresCounterStore as counters,
} from './limits.store.js';
export { createPostgresOptinStore as optin } from './optin.store.js';
export { createPostgresReportsStore as reports } from './reports.store.js';
export { createPostgresEventRetentionStore as eventRetention } from './retention.store.js';
export { createPostgresSigningKeyStore as signingKeys } from './signing-keys.store.js';
export { createPostgresVerificationStore as verifications } from './verification.store.js';
export { createPostgresWebhookStore as webhooks } from './webhooks.store.js';
