import type { OpenAPIHono } from '@hono/zod-openapi';
import { SCOPES, type Scope } from '../admin/admin.service.js';
import type { AppEnv } from './app-env.js';

/** The OpenAPI security requirement of an API-key route that needs `scope` (a role name: OpenAPI 3.1 §4.8.30). */
export function apiKeyScope(scope: Scope): [{ bearerAuth: [Scope] }] {
  return [{ bearerAuth: [scope] }];
}

/** One route's method, its path as Hono spells it, and the scope its definition requires. */
export interface ScopedRoute {
  method: string;
  path: string;
  scope: Scope;
}

interface RouteDefinition {
  type: string;
  route?: { method: string; path: string; security?: Record<string, string[]>[] };
}

const isScope = (value: string | undefined): value is Scope =>
  value !== undefined && (SCOPES as readonly string[]).includes(value);

/**
 * The scope each route of a router declares in its `security` (apiKeyScope), read from the router's
 * OpenAPI registry: createApp enforces exactly what the published contract says, and a route that
 * declares no bearer scope gets none.
 */
export function declaredScopes(router: OpenAPIHono<AppEnv>): ScopedRoute[] {
  const routes: ScopedRoute[] = [];
  for (const definition of router.openAPIRegistry.definitions as RouteDefinition[]) {
    if (definition.type !== 'route' || !definition.route) continue;
    const { method, path, security } = definition.route;
    const scope = security?.flatMap((requirement) => requirement.bearerAuth ?? [])[0];
    if (!isScope(scope)) continue;
    routes.push({
      method: method.toUpperCase(),
      path: path.replaceAll(/\/{(.+?)}/g, '/:$1'),
      scope,
    });
  }
  return routes;
}
