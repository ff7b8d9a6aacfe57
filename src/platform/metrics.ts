import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics, one registry per app instance so tests never share counters. */
export interface Metrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route'>;
  deliveries: Counter<'channel' | 'provider' | 'status'>;
  events: Counter<'kind' | 'reason'>;
  /** Webhook delivery attempts by outcome: delivered, retry (failed, to be retried), failed (for good). */
  webhookDeliveries: Counter<'status'>;
}

export function createMetrics(options: { collectDefault: boolean }): Metrics {
  const registry = new Registry();
  if (options.collectDefault) collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests by method, route and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration in seconds',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    deliveries: new Counter({
      name: 'deliveries_total',
      help: 'Message and call deliveries, by channel, provider and status',
      labelNames: ['channel', 'provider', 'status'],
      registers: [registry],
    }),
    events: new Counter({
      name: 'events_recorded_total',
      help: 'Events written to the failure/event record, by kind (failure|success) and reason',
      labelNames: ['kind', 'reason'],
      registers: [registry],
    }),
    webhookDeliveries: new Counter({
      name: 'webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome (delivered, retry, failed)',
      labelNames: ['status'],
      registers: [registry],
    }),
  };
}
