import type { Clock } from '../platform/clock.js';
import type { LimitsConfig } from './limits.config.js';
import { effectiveLimits, type EffectiveLimits } from './limits.service.js';
import type { AppLimitOverrides, AppLimitsStore } from './limits.store.js';

export interface AppLimitsView {
  app: string;
  overrides: AppLimitOverrides;
  effective: EffectiveLimits;
  updatedAt: number | null;
}

/** Per-app overrides of the limits; cached per instance and dropped on any change (within 1 s everywhere: SECURITY.md). */
export interface AppLimitsService {
  get(app: string): Promise<AppLimitsView>;
  /** Replaces the app's overrides; fields left out fall back to the environment's defaults. */
  put(app: string, overrides: AppLimitOverrides): Promise<AppLimitsView>;
}

export function createAppLimitsService(deps: {
  store: AppLimitsStore;
  clock: Clock;
  config: LimitsConfig;
}): AppLimitsService {
  const view = (
    app: string,
    overrides: AppLimitOverrides,
    updatedAt: number | null,
  ): AppLimitsView => ({
    app,
    overrides,
    effective: effectiveLimits(deps.config, overrides),
    updatedAt,
  });
  return {
    async get(app) {
      const record = await deps.store.get(app);
      return view(app, record?.overrides ?? {}, record?.updatedAt ?? null);
    },
    async put(app, overrides) {
      const record = await deps.store.put(app, overrides, deps.clock.now());
      return view(app, record.overrides, record.updatedAt);
    },
  };
}
