import type { WebhookEventType, WebhookSubscriptions } from '../events/webhooks.js';

/** The subscriptions as every instance keeps them: refreshed at most `maxAgeMs` after a change elsewhere. */
export interface SubscriptionSnapshot extends WebhookSubscriptions {
  /** Reads every endpoint's subscriptions now (after a change on this instance, and at start). */
  refresh(): Promise<void>;
  /** Refreshes every `maxAgeMs` in the background (a job: wiring/jobs.ts); returns the stop. */
  start(): () => void;
}

/**
 * The write path asks `wants()` on every event record, synchronously: a map lookup. The map is
 * reloaded (one small query) every `maxAgeMs` while the jobs run (start()), and when older than that
 * at a lookup, so an endpoint created on another instance receives events from at most ~maxAgeMs
 * later; one created or deleted on this instance is seen at once (the admin service awaits refresh()).
 */
export function createSubscriptionSnapshot(
  load: () => Promise<{ app: string; events: string }[]>,
  maxAgeMs = 1000,
  now: () => number = Date.now,
): SubscriptionSnapshot {
  let byApp = new Map<string, Set<string>>();
  let loadedAt = -Infinity;
  let loading: Promise<void> | undefined;

  async function refresh(): Promise<void> {
    const startedAt = now();
    const rows = await load();
    const next = new Map<string, Set<string>>();
    for (const { app, events } of rows) {
      const set = next.get(app) ?? new Set<string>();
      for (const type of events.split(',')) set.add(type);
      next.set(app, set);
    }
    byApp = next;
    loadedAt = startedAt;
  }

  function lazily(): void {
    if (now() - loadedAt > maxAgeMs && loading === undefined) {
      loading = refresh()
        .catch(() => undefined)
        .finally(() => {
          loading = undefined;
        });
    }
  }

  return {
    refresh,
    start() {
      const timer = setInterval(() => {
        if (loading === undefined)
          loading = refresh()
            .catch(() => undefined)
            .finally(() => {
              loading = undefined;
            });
      }, maxAgeMs);
      timer.unref();
      return () => clearInterval(timer);
    },
    hasAny(app: string): boolean {
      lazily();
      return byApp.has(app);
    },
    wants(app: string, type: WebhookEventType): boolean {
      lazily();
      const set = byApp.get(app);
      return set !== undefined && (set.has('*') || set.has(type));
    },
  };
}
