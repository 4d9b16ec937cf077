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
    // Joins, leaves and handler broadcasts each issue Redis commands (presence, admin counts,
    // SPUBLISH); pipelined, a burst of them in one tick leaves in one write instead of one
    // syscall each. Subscription commands stay direct so that a PING issued after them on a
    // subscriber connection (duplicates inherit these options) is still answered after them.
    enableAutoPipelining: true,
    autoPipeliningIgnoredCommands: ["ssubscribe", "sunsubscribe", "ping"],
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
