// The ceiling of `npm run bench`: a bare Hono route on @hono/node-server answering a small JSON
// POST, in plain JavaScript so it runs on plain node like the built server (no tsx loader).
import process from 'node:process';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
app.post('/echo', async (c) =>
  c.json({ ok: true, size: JSON.stringify(await c.req.json()).length }, 201),
);
serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  process.stdout.write(`{"port":${info.port},"msg":"listening"}\n`);
});
