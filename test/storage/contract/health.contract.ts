import { expect, it } from 'vitest';
import type { StoreContext } from './backends.js';

/**
 * Readiness. Broken, /readyz would lie, or an ordinary error would be answered as an outage (503)
 * instead of a 500.
 */
export function healthContract(ctx: () => StoreContext): void {
  it('answers a ping, and does not call an ordinary error an outage', async () => {
    const { stores } = ctx();
    await expect(stores.ping()).resolves.toBeUndefined();
    expect(stores.isUnavailable(new Error('boom'))).toBe(false);
  });
}
