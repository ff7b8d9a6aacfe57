import type { SecretBox } from '../factors/secret-box.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { Sender } from './send.js';
import { signatureHeader } from './signing.js';
import type {
  WebhookAttemptOutcome,
  WebhookDeliveryRecord,
  WebhookEndpointRecord,
  WebhookStore,
} from './webhooks.store.js';

/** The default retry schedule after each failed attempt (Standard Webhooks' usual one), seconds. */
export const DEFAULT_RETRY_DELAYS_SECONDS = [5, 30, 120, 600, 3600, 21600, 86400];

export interface WebhookWorkerOptions {
  store: WebhookStore;
  box: SecretBox;
  clock: Clock;
  logger: Logger;
  send: Sender;
  /** This instance's name on the leases it takes. */
  owner: string;
  pollMs: number;
  /** Deliveries in flight on this instance, all endpoints together. */
  concurrency: number;
  /** Deliveries in flight to one endpoint on this instance: a slow endpoint holds at most these. */
  perEndpoint: number;
  retryDelaysMs: readonly number[];
  /** How long a claim is held before another worker may take it (longer than one attempt). */
  leaseMs: number;
  onAttempt?: (status: 'delivered' | 'retry' | 'failed') => void;
}

export interface WebhookWorker {
  /** Claims what is due and delivers it; resolves when those attempts are done (tests, one tick). */
  runOnce(): Promise<number>;
  start(): void;
  /** Stops claiming; resolves once the attempts in flight have ended (their leases are then released by their outcome). */
  stop(): Promise<void>;
}

const truncate = (text: string, max: number) => (text.length > max ? text.slice(0, max) : text);

/** The delay before the next attempt after `attempts` failed ones, with ±10 % jitter; undefined once the schedule is spent. */
export function nextDelayMs(
  delays: readonly number[],
  attempts: number,
  random: () => number = Math.random,
): number | undefined {
  const base = delays[attempts - 1];
  return base === undefined ? undefined : Math.round(base * (0.9 + 0.2 * random()));
}

/** The secrets that sign now: the current one, and the previous one during its grace period. */
export function signingSecrets(
  box: SecretBox,
  endpoint: WebhookEndpointRecord,
  now: number,
): string[] {
  const current = box.open(endpoint.secretEnc, `webhook:${endpoint.id}`).toString('utf8');
  if (
    endpoint.previousSecretEnc === null ||
    endpoint.previousUntil === null ||
    endpoint.previousUntil <= now
  )
    return [current];
  return [current, box.open(endpoint.previousSecretEnc, `webhook:${endpoint.id}`).toString('utf8')];
}

async function attempt(
  o: WebhookWorkerOptions,
  row: WebhookDeliveryRecord,
): Promise<WebhookAttemptOutcome> {
  const endpoint = await o.store.endpointById(row.endpointId);
  const now = o.clock.now();
  const attempts = row.attempts + 1;
  let result: { ok: boolean; status: number | null; error: string | null; response: string | null };
  if (!endpoint) {
    result = { ok: false, status: null, error: 'endpoint_deleted', response: null };
  } else {
    const timestamp = Math.floor(now / 1000);
    const headers = {
      'webhook-id': row.eventId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader(
        signingSecrets(o.box, endpoint, now),
        row.eventId,
        timestamp,
        row.body,
      ),
    };
    const sent = await o.send(endpoint.url, headers, row.body);
    result =
      sent.status === null
        ? { ok: false, status: null, error: sent.error, response: null }
        : {
            ok: sent.ok,
            status: sent.status,
            error: sent.ok ? null : `http_${sent.status}`,
            response: sent.response,
          };
  }
  const at = o.clock.now();
  const delay = result.ok || !endpoint ? undefined : nextDelayMs(o.retryDelaysMs, attempts);
  return {
    status: result.ok ? 'delivered' : delay === undefined ? 'failed' : 'pending',
    attempts,
    nextAttemptAt: delay === undefined ? row.nextAttemptAt : at + delay,
    lastStatus: result.status,
    lastError: result.error === null ? null : truncate(result.error, 500),
    lastResponse: result.response === null ? null : truncate(result.response, 1024),
    at,
  };
}

/**
 * Delivers the outbox: claims due deliveries (a lease, so one worker of all instances holds each),
 * sends each signed per Standard Webhooks with the same webhook-id on every attempt, and records
 * the outcome: delivered, retried after the next delay of the schedule, or failed once it is spent.
 * Bounded: at most `concurrency` attempts in flight, `perEndpoint` per endpoint, none on the API's path.
 */
export function createWebhookWorker(o: WebhookWorkerOptions): WebhookWorker {
  const inFlight = new Map<string, number>();
  const running = new Set<Promise<void>>();
  let timer: NodeJS.Timeout | undefined;
  let stopping = false;
  let ticking: Promise<number> | undefined;

  const busy = () => [...inFlight].filter(([, n]) => n >= o.perEndpoint).map(([id]) => id);
  const total = () => [...inFlight.values()].reduce((a, b) => a + b, 0);

  function run(row: WebhookDeliveryRecord): Promise<void> {
    inFlight.set(row.endpointId, (inFlight.get(row.endpointId) ?? 0) + 1);
    const task = (async () => {
      try {
        const outcome = await attempt(o, row);
        if (await o.store.completeAttempt(row.id, o.owner, outcome))
          o.onAttempt?.(outcome.status === 'pending' ? 'retry' : outcome.status);
      } catch (error) {
        o.logger.warn({ err: error, delivery: row.id }, 'webhook delivery attempt failed');
      } finally {
        const n = (inFlight.get(row.endpointId) ?? 1) - 1;
        if (n <= 0) inFlight.delete(row.endpointId);
        else inFlight.set(row.endpointId, n);
      }
    })();
    running.add(task);
    void task.finally(() => running.delete(task));
    return task;
  }

  async function claimAndStart(): Promise<Promise<void>[]> {
    const free = o.concurrency - total();
    if (free <= 0 || stopping) return [];
    const now = o.clock.now();
    const rows = await o.store.claimDue(o.owner, now, now + o.leaseMs, free, busy());
    const started: Promise<void>[] = [];
    for (const row of rows) {
      if ((inFlight.get(row.endpointId) ?? 0) >= o.perEndpoint)
        await o.store.release(row.id, o.owner);
      else started.push(run(row));
    }
    return started;
  }

  async function tick(): Promise<number> {
    try {
      return (await claimAndStart()).length;
    } catch (error) {
      o.logger.warn({ err: error }, 'webhook worker could not claim deliveries');
      return 0;
    }
  }

  function schedule() {
    if (stopping) return;
    timer = setTimeout(() => {
      ticking = tick();
      void ticking.finally(schedule);
    }, o.pollMs);
    timer.unref();
  }

  return {
    async runOnce() {
      const started = await claimAndStart();
      await Promise.all(started);
      return started.length;
    },
    start() {
      stopping = false;
      if (timer === undefined) schedule();
    },
    async stop() {
      stopping = true;
      clearTimeout(timer);
      timer = undefined;
      await ticking;
      await Promise.all([...running]);
    },
  };
}
