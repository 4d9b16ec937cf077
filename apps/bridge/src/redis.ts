import { Redis } from "ioredis";
import type { Logger } from "pino";

/**
 * Bounds every command so a hung Redis turns into an error the lease can act on, well inside
 * the lease TTL, instead of a promise that never settles.
 */
const COMMAND_TIMEOUT_MS = 1_000;

/**
 * A Redis connection that reconnects by itself with a capped backoff (a Redis restart must never
 * take the bridge down) and says so in the logs once per outage, not once per retry.
 */
export function connectRedis(url: string, role: string, log: Logger): Redis {
  const redis = new Redis(url, {
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
    maxRetriesPerRequest: 2,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectionName: `switchboard-bridge-${role}`,
  });
  watchConnection(redis, role, log);
  return redis;
}

export function watchConnection(redis: Redis, role: string, log: Logger): void {
  let down = false;
  redis.on("error", (error: Error) => {
    if (down) return;
    down = true;
    log.error({ redis: role, err: error.message }, "redis unreachable, reconnecting");
  });
  redis.on("reconnecting", (delayMs: number) => log.debug({ redis: role, delayMs }, "redis reconnecting"));
  redis.on("ready", () => {
    if (down) log.info({ redis: role }, "redis connection restored");
    down = false;
  });
}
