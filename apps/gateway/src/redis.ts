import { Redis } from "ioredis";
import type { Logger } from "pino";

/**
 * The node's command connection. It retries forever with a capped backoff: a Redis restart must
 * never take a gateway down, only make it not-ready until the connection is back. Errors are
 * logged once per outage, not once per retry.
 */
export function connectRedis(url: string, log: Logger): Redis {
  const redis = new Redis(url, {
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
    maxRetriesPerRequest: 2,
    enableReadyCheck: true,
    connectionName: "switchboard",
  });
  let down = false;
  redis.on("error", (error: Error) => {
    if (down) return;
    down = true;
    log.error({ err: error.message }, "redis unreachable, retrying");
  });
  redis.on("ready", () => {
    if (down) log.info("redis connection restored");
    down = false;
  });
  return redis;
}
