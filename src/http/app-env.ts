import type { LimitState } from '../limits/guard.js';
import type { Principal } from '../admin/admin.service.js';

/** Hono environment shared by every router. */
export interface AppEnv {
  Variables: {
    principal: Principal;
    requestId: string;
    /** The client's address after trusted proxies (http/client-address.ts). */
    clientAddress: string | undefined;
    /** The tightest rate limit a limited route consumed, for the RateLimit-* headers. */
    limitState: LimitState | undefined;
  };
}
