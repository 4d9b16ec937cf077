import { Redis } from "ioredis";
import type { Command } from "ioredis";
import type { Logger } from "pino";
import { batchWritesPerTurn } from "@switchboard/cluster";

/**
 * Joins, leaves and handler broadcasts each issue Redis commands (presence, admin counts,
 * SPUBLISH): the commands of one turn of the event loop leave in one write (the socket corked
 * from the turn's first command until the turn's I/O callbacks are done, `setImmediate`), not a
 * syscall each. ioredis's auto-pipelining batched the same way with a Pipeline object (and a
 * closure and promise per command) per batch, and held a batch until the one before it was
 * answered: in a join burst those outlived scavenges and were promoted to old space, about
 * 2.4 KiB per joined connection of garbage that stays resident until a major GC.
 */
class TurnBatchedRedis extends Redis {
  private readonly corkThisTurn = batchWritesPerTurn(this);

  override sendCommand(command: Command, stream?: Parameters<Redis["sendCommand"]>[1]): unknown {
    // A command given its own stream is ioredis's connection setup, written past the queue.
    if (!stream) this.corkThisTurn();
    return super.sendCommand(command, stream);
  }
}

/**
 * The node's command connection. It retries forever with a capped backoff: a Redis restart must
 * never take a gateway down, only make it not-ready until the connection is back. Errors are
 * logged once per outage, not once per retry. Its duplicates (subscribers) are plain connections.
 */
export function connectRedis(url: string, log: Logger): Redis {
  const redis = new TurnBatchedRedis(url, {
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
