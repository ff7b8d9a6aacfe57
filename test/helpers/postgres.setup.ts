import { afterAll } from 'vitest';
import { settleTestApps } from './test-app.js';

// The PostgreSQL project's test apps drop their databases in the background when closed: wait for them before the file ends.
afterAll(() => settleTestApps());
