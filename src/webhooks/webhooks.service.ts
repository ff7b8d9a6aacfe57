import type { AppStore } from '../admin/admin.store.js';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '../events/webhooks.js';
import type { SecretBox } from '../factors/secret-box.js';
import type { Clock } from '../platform/clock.js';
import { DomainError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import { newSecret } from './signing.js';
import { checkUrl } from './ssrf.js';
import type {
  FailingEndpoint,
  WebhookDeliveryRecord,
  WebhookDeliveryStatus,
  WebhookEndpointRecord,
  WebhookStore,
} from './webhooks.store.js';

/** How long a rotated-out secret keeps signing beside the new one. */
export const ROTATION_GRACE_MS = 24 * 3600 * 1000;

export interface WebhookServiceDeps {
  store: WebhookStore;
  apps: AppStore;
  box: SecretBox;
  clock: Clock;
  /** WEBHOOKS_ALLOW_PRIVATE: private destinations and plain http:// allowed (tests, closed networks). */
  allowPrivate: boolean;
  /** Told after an endpoint is added or removed here, so this instance's subscriptions change at once. */
  changed: () => Promise<void>;
}

export interface WebhookEndpointView {
  id: string;
  app: string;
  url: string;
  events: string[];
  createdAt: string;
  updatedAt: string;
  /** Until when the previous secret still signs (after a rotation), or null. */
  previousSecretExpiresAt: string | null;
}

export interface WebhookDeliveryView {
  id: string;
  eventId: string;
  type: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

export interface WebhookService {
  create(
    app: string,
    input: { url: string; events: string[] },
  ): Promise<WebhookEndpointView & { secret: string }>;
  list(app: string): Promise<WebhookEndpointView[]>;
  remove(app: string, id: string): Promise<void>;
  rotateSecret(app: string, id: string): Promise<WebhookEndpointView & { secret: string }>;
  deliveries(
    app: string,
    id: string,
    options: { limit: number; status?: WebhookDeliveryStatus | undefined },
  ): Promise<WebhookDeliveryView[]>;
  retry(app: string, id: string, deliveryId: string): Promise<void>;
  failing(limit: number): Promise<FailingEndpoint[]>;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const aad = (id: string) => `webhook:${id}`;

export function endpointView(e: WebhookEndpointRecord, now: number): WebhookEndpointView {
  return {
    id: e.id,
    app: e.app,
    url: e.url,
    events: e.events.split(','),
    createdAt: new Date(e.createdAt).toISOString(),
    updatedAt: new Date(e.updatedAt).toISOString(),
    previousSecretExpiresAt:
      e.previousUntil !== null && e.previousUntil > now ? iso(e.previousUntil) : null,
  };
}

export function deliveryView(d: WebhookDeliveryRecord): WebhookDeliveryView {
  return {
    id: d.id,
    eventId: d.eventId,
    type: d.eventType,
    status: d.status,
    attempts: d.attempts,
    lastStatus: d.lastStatus,
    lastError: d.lastError,
    nextAttemptAt:
      d.status === 'pending' || d.status === 'delivering' ? iso(d.nextAttemptAt) : null,
    createdAt: new Date(d.createdAt).toISOString(),
    deliveredAt: iso(d.deliveredAt),
  };
}

/** The subscribed types as stored: `*`, or the distinct known types comma-joined; refuses an unknown one. */
export function normalizeEvents(events: readonly string[]): string {
  if (events.includes('*')) return '*';
  const known = new Set<string>(WEBHOOK_EVENT_TYPES);
  const unknown = events.filter((e) => !known.has(e));
  if (unknown.length > 0 || events.length === 0)
    throw new DomainError('unknown_event_type', {
      details: { unknown, known: [...WEBHOOK_EVENT_TYPES, '*'] },
    });
  return [...new Set(events as WebhookEventType[])].join(',');
}

async function appOrFail(deps: WebhookServiceDeps, app: string): Promise<void> {
  if ((await deps.apps.get(app)) === undefined) throw new DomainError('not_found');
}

async function endpointOrFail(
  deps: WebhookServiceDeps,
  app: string,
  id: string,
): Promise<WebhookEndpointRecord> {
  const found = await deps.store.findEndpoint(app, id);
  if (!found) throw new DomainError('not_found');
  return found;
}

async function create(
  deps: WebhookServiceDeps,
  app: string,
  input: { url: string; events: string[] },
): Promise<WebhookEndpointView & { secret: string }> {
  const refused = checkUrl(input.url, deps.allowPrivate);
  if (refused)
    throw new DomainError(refused.reason, { details: { rule: refused.rule }, rule: refused.rule });
  const events = normalizeEvents(input.events);
  await appOrFail(deps, app);
  const now = deps.clock.now();
  const id = newId('whe', now);
  const secret = newSecret();
  const record: WebhookEndpointRecord = {
    id,
    app,
    url: input.url,
    events,
    secretEnc: deps.box.seal(Buffer.from(secret, 'utf8'), aad(id)),
    previousSecretEnc: null,
    previousUntil: null,
    createdAt: now,
    updatedAt: now,
  };
  await deps.store.createEndpoint(record);
  await deps.changed();
  return { ...endpointView(record, now), secret };
}

async function rotateSecret(
  deps: WebhookServiceDeps,
  app: string,
  id: string,
): Promise<WebhookEndpointView & { secret: string }> {
  const endpoint = await endpointOrFail(deps, app, id);
  const now = deps.clock.now();
  const secret = newSecret();
  const secretEnc = deps.box.seal(Buffer.from(secret, 'utf8'), aad(id));
  const previousUntil = now + ROTATION_GRACE_MS;
  if (!(await deps.store.rotateSecret(app, id, secretEnc, endpoint.secretEnc, previousUntil, now)))
    throw new DomainError('not_found');
  const rotated = { ...endpoint, secretEnc, previousSecretEnc: endpoint.secretEnc, previousUntil };
  return { ...endpointView({ ...rotated, updatedAt: now }, now), secret };
}

export function createWebhookService(deps: WebhookServiceDeps): WebhookService {
  return {
    create: (app, input) => create(deps, app, input),
    async list(app) {
      await appOrFail(deps, app);
      const now = deps.clock.now();
      return (await deps.store.listEndpoints(app)).map((e) => endpointView(e, now));
    },
    async remove(app, id) {
      if (!(await deps.store.deleteEndpoint(app, id))) throw new DomainError('not_found');
      await deps.changed();
    },
    rotateSecret: (app, id) => rotateSecret(deps, app, id),
    async deliveries(app, id, options) {
      await endpointOrFail(deps, app, id);
      const rows = await deps.store.listDeliveries(app, id, options.limit, options.status);
      return rows.map(deliveryView);
    },
    async retry(app, id, deliveryId) {
      await endpointOrFail(deps, app, id);
      if (!(await deps.store.retryDelivery(app, id, deliveryId, deps.clock.now())))
        throw new DomainError('not_found');
    },
    failing: (limit) => deps.store.failingEndpoints(limit),
  };
}
