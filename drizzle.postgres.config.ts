import { defineConfig } from 'drizzle-kit';

/**
 * PostgreSQL migrations. After `npm run db:generate:pg`, the hand-written SQL at the end of
 * migrations/postgres/0000_init.sql (the consent ledger's triggers) must be carried over.
 */
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/storage/postgres/*schema.ts',
  out: './migrations/postgres',
});
