import type { Principal } from '../admin/admin.service.js';

/** Hono environment shared by every router. */
export interface AppEnv {
  Variables: {
    principal: Principal;
    requestId: string;
  };
}
