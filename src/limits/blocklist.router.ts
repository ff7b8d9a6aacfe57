import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../http/app-env.js';
import type { BlocklistService } from './blocklist.service.js';
import {
  createBlockEntryRoute,
  deleteBlockEntryRoute,
  listBlockEntriesRoute,
} from './blocklist.routes.js';
import type { BlockEntry } from './limits.store.js';

const iso = (ms: number): string => new Date(ms).toISOString();
const entryView = (e: BlockEntry) => ({
  ...e,
  createdAt: iso(e.createdAt),
  expiresAt: e.expiresAt === null ? null : iso(e.expiresAt),
});

export function createBlocklistRouter(
  service: BlocklistService,
  base: () => OpenAPIHono<AppEnv>,
): OpenAPIHono<AppEnv> {
  const router = base();

  router.openapi(createBlockEntryRoute, async (c) => {
    const body = c.req.valid('json');
    const entry = await service.create(c.get('principal').keyId, {
      kind: body.kind,
      value: body.value,
      reason: body.reason,
      action: body.action,
      expiresAt: body.expiresAt === undefined ? undefined : Date.parse(body.expiresAt),
    });
    return c.json(entryView(entry), 201);
  });

  router.openapi(listBlockEntriesRoute, async (c) => {
    const entries = await service.list(c.req.valid('query'));
    return c.json({ entries: entries.map(entryView) }, 200);
  });

  router.openapi(deleteBlockEntryRoute, async (c) => {
    await service.remove(c.req.valid('param').id);
    return c.body(null, 204);
  });

  return router;
}
