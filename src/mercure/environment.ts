import type { Config } from "../config.js";
import type { MercureSettings } from "../store/mercure-settings.js";
import { hmacKey } from "./keys.js";

export type MercureEnvironment = Pick<Config, "SWITCHBOARD_MERCURE_TENANT" | "SWITCHBOARD_MERCURE_JWT_KEY" | "SWITCHBOARD_MERCURE_ANONYMOUS">;

/**
 * A tenant's settings with the environment's say on top: for the tenant
 * `/.well-known/mercure` serves, SWITCHBOARD_MERCURE_JWT_KEY replaces both
 * stored keys (as the reference hub's one JWT key signs both roles), and
 * SWITCHBOARD_MERCURE_ANONYMOUS, when set, decides anonymous subscribers.
 * Other tenants' settings are returned as they are.
 */
export function withEnvironment(settings: MercureSettings, env: MercureEnvironment): MercureSettings {
  if (env.SWITCHBOARD_MERCURE_TENANT === undefined || settings.tenant !== env.SWITCHBOARD_MERCURE_TENANT) return settings;
  const key = env.SWITCHBOARD_MERCURE_JWT_KEY === undefined ? null : hmacKey(env.SWITCHBOARD_MERCURE_JWT_KEY);
  return {
    ...settings,
    ...(key && { publisherKey: key, subscriberKey: key }),
    ...(env.SWITCHBOARD_MERCURE_ANONYMOUS !== undefined && { anonymous: env.SWITCHBOARD_MERCURE_ANONYMOUS }),
  };
}
