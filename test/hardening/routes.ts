import type { App } from '../../src/app.js';

export interface MountedRoute {
  method: string;
  /** Hono's pattern, e.g. `/v1/verifications/:id/check`. */
  path: string;
  params: string[];
}

/**
 * Every concrete route the app mounts (middleware entries, registered as `ALL`, left out). Tests
 * iterate over this list, so a route added by a later capability is covered without editing them.
 */
export function mountedRoutes(app: App): MountedRoute[] {
  const seen = new Map<string, MountedRoute>();
  for (const route of app.routes) {
    if (route.method === 'ALL') continue;
    const key = `${route.method} ${route.path}`;
    if (!seen.has(key)) seen.set(key, { method: route.method, path: route.path, params: [...route.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!) });
  }
  return [...seen.values()];
}

/** The route's path with each parameter replaced by `values[name]` (already encoded as the caller wants). */
export function fillPath(route: MountedRoute, values: Record<string, string>): string {
  return route.path.replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => values[name] ?? 'x');
}

/** Routes that need no API key: their own checks (signatures, or nothing to protect). */
export function isPublic(route: MountedRoute): boolean {
  return !route.path.startsWith('/v1/') || route.path.startsWith('/v1/webhooks/');
}
