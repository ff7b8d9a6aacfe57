import { z } from '@hono/zod-openapi';
import { ipAddress } from './schema-formats.js';

/**
 * What a back end may tell about the end user it calls for (verifications, factors, opt-in): the
 * limits count per end-user IP, and the failure record keeps all three.
 */
export const Signals = z
  .object({
    ip: ipAddress()
      .optional()
      .openapi({ description: "The end user's IP address", example: '203.0.113.7' }),
    userAgent: z.string().max(512).optional().openapi({ description: "The end user's user agent" }),
    deviceId: z
      .string()
      .max(128)
      .optional()
      .openapi({ description: "An identifier of the end user's device" }),
  })
  .strict()
  .openapi('EndUserSignals', {
    description: 'Describes the end user on whose behalf a back end calls.',
  });
