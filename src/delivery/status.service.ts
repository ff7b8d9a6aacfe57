import type { Clock } from '../platform/clock.js';
import type { EventRecorder } from '../events/events.js';
import type { DeliveryStore, Channel, DeliveryStatus } from './delivery.store.js';

/** A delivery status reported by a provider's callback, normalised. */
export interface StatusReport {
  provider: string;
  providerMessageId: string;
  status: Extract<DeliveryStatus, 'sent' | 'delivered' | 'failed' | 'undelivered'>;
  error: { code: string; message: string } | null;
}

export type StatusOutcome = 'applied' | 'unchanged' | 'unknown';

export interface DeliveryStatusService {
  /**
   * Applies a provider's status callback to the delivery it names. A replayed or out-of-order
   * callback changes nothing (`unchanged`); a failed or undelivered SMS triggers the fallback.
   */
  apply(report: StatusReport): Promise<StatusOutcome>;
}

export interface DeliveryStatusDeps {
  store: DeliveryStore;
  events: EventRecorder;
  clock: Clock;
  /** Falls back to a flash call when an SMS failed, when flash calls are configured. */
  fallBack?: ((verificationId: string, reason: 'delivery_failed') => Promise<boolean>) | undefined;
  onDelivery?: (channel: Channel, provider: string, status: string) => void;
}

export function createDeliveryStatusService(deps: DeliveryStatusDeps): DeliveryStatusService {
  return {
    async apply(report) {
      const delivery = await deps.store.findDeliveryByProviderId(
        report.provider,
        report.providerMessageId,
      );
      if (!delivery) return 'unknown';
      const now = deps.clock.now();
      const updated = await deps.store.updateDeliveryStatus(
        delivery.id,
        report.status,
        report.error,
        now,
      );
      if (!updated) return 'unchanged';
      deps.onDelivery?.(delivery.channel, report.provider, report.status);
      const failed = report.status === 'failed' || report.status === 'undelivered';
      // A receipt saying "sent" repeats what the send recorded; "delivered" and the failures are news.
      if (failed || report.status === 'delivered') {
        await deps.events.record({
          at: now,
          kind: failed ? 'failure' : 'success',
          reason: failed ? 'delivery_failed' : 'delivered',
          rule: 'status_callback',
          app: delivery.app,
          number: delivery.to,
          country: delivery.country ?? undefined,
          channel: delivery.channel,
          provider: report.provider,
          providerError: report.error
            ? `${report.error.code}: ${report.error.message}`.slice(0, 300)
            : undefined,
          verificationId: delivery.verificationId,
        });
      }
      if (failed && delivery.channel === 'sms' && deps.fallBack)
        await deps.fallBack(delivery.verificationId, 'delivery_failed');
      return 'applied';
    },
  };
}
