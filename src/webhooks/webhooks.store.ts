/** An app's endpoint as stored: secrets sealed (factors/secret-box.ts), events comma-joined or `*`. */
export interface WebhookEndpointRecord {
  id: string;
  app: string;
  url: string;
  events: string;
  secretEnc: string;
  previousSecretEnc: string | null;
  previousUntil: number | null;
  createdAt: number;
  updatedAt: number;
}

export type WebhookDeliveryStatus = 'pending' | 'delivering' | 'delivered' | 'failed';

/** One event for one endpoint: the unit the worker claims, sends and retries. */
export interface WebhookDeliveryRecord {
  id: string;
  endpointId: string;
  app: string;
  eventId: string;
  eventType: string;
  body: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  lastStatus: number | null;
  lastError: string | null;
  lastResponse: string | null;
  leaseOwner: string | null;
  leaseUntil: number | null;
  createdAt: number;
  updatedAt: number;
  deliveredAt: number | null;
}

/** What one attempt left: delivered, to be retried at nextAttemptAt, or failed for good. */
export interface WebhookAttemptOutcome {
  status: 'delivered' | 'pending' | 'failed';
  attempts: number;
  nextAttemptAt: number;
  lastStatus: number | null;
  lastError: string | null;
  lastResponse: string | null;
  at: number;
}

export interface FailingEndpoint {
  endpointId: string;
  app: string;
  url: string;
  failed: number;
  retrying: number;
  lastError: string | null;
  lastStatus: number | null;
  lastAttemptAt: number | null;
}

/**
 * Webhook endpoints and the outbox of their deliveries. Deliveries are created by the database
 * itself when an event record carrying a webhook entry is written (the fan-out trigger of
 * migration 0002), so they commit with the change they describe; `enqueue` is the same for an
 * event written apart. A claim is a lease taken by a conditional UPDATE: at most one worker of all
 * instances holds a delivery at a time, and one whose worker died is claimed again after lease_until.
 */
export interface WebhookStore {
  createEndpoint(endpoint: WebhookEndpointRecord): Promise<void>;
  listEndpoints(app: string): Promise<WebhookEndpointRecord[]>;
  findEndpoint(app: string, id: string): Promise<WebhookEndpointRecord | undefined>;
  /** Every endpoint by id (the worker's view: the url and secrets of a claimed delivery). */
  endpointById(id: string): Promise<WebhookEndpointRecord | undefined>;
  /** Removes the endpoint and its deliveries; false when it did not exist. */
  deleteEndpoint(app: string, id: string): Promise<boolean>;
  /** Replaces the signing secret, keeping the previous one until `previousUntil`. */
  rotateSecret(
    app: string,
    id: string,
    secretEnc: string,
    previousSecretEnc: string,
    previousUntil: number,
    now: number,
  ): Promise<boolean>;
  /** Every endpoint's app and subscribed events (the subscription snapshot of every instance). */
  subscriptions(): Promise<{ app: string; events: string }[]>;
  /** Leases up to `limit` due deliveries (pending and due, or delivering with an expired lease). */
  claimDue(
    owner: string,
    now: number,
    leaseUntil: number,
    limit: number,
    skipEndpoints: readonly string[],
  ): Promise<WebhookDeliveryRecord[]>;
  /** Gives back a claimed delivery unsent (this worker is busy with its endpoint). */
  release(id: string, owner: string): Promise<void>;
  /** Records one attempt's outcome iff `owner` still holds the lease; false otherwise. */
  completeAttempt(id: string, owner: string, outcome: WebhookAttemptOutcome): Promise<boolean>;
  /** The endpoint's deliveries, newest first. */
  listDeliveries(
    app: string,
    endpointId: string,
    limit: number,
    status?: WebhookDeliveryStatus,
  ): Promise<WebhookDeliveryRecord[]>;
  /** Makes a delivery of this endpoint due now again (any status but delivering); false when not found. */
  retryDelivery(app: string, endpointId: string, id: string, now: number): Promise<boolean>;
  /** Queue depth (pending or delivering) and the creation time of the oldest of them. */
  queueStats(): Promise<{ depth: number; oldestCreatedAt: number | null }>;
  /** Endpoints with failed or retrying deliveries, the most failed first. */
  failingEndpoints(limit: number): Promise<FailingEndpoint[]>;
}
