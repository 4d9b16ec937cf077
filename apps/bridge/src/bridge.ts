import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { batchWritesPerTick, createCluster } from "@switchboard/cluster";
import type { Config } from "@switchboard/config";
import { createHistory } from "@switchboard/history";
import { REPLY_PREFIX, TO_PREFIX } from "./channel-name.ts";
import { startHealthServer } from "./health.ts";
import { createIngest, type IngestStats } from "./ingest.ts";
import { createForwarder } from "./forwarder.ts";
import { createLeaderLease, type LeaseOptions } from "./lease.ts";
import { connectRedis, watchConnection } from "./redis.ts";
import { startSystemClock } from "./system-clock.ts";

export type BridgeConfig = Pick<
  Config,
  "nodeId" | "redisUrl" | "redisKeyPrefix" | "systemTickMs" | "host" | "port" | "recoveryPatterns" | "historyMaxLength" | "historyTtlSeconds"
>;

export interface BridgeOptions {
  /** Lease timing overrides (tests); production uses the defaults in lease.ts. */
  lease?: Pick<LeaseOptions, "ttlMs" | "renewEveryMs" | "acquireRetryMs" | "safetyMarginMs">;
}

export interface Bridge {
  readonly url: string;
  isLeader(): boolean;
  readonly stats: Readonly<IngestStats>;
  /** Releases the lease (a standby takes over at once), then closes Redis and the health server. */
  close(): Promise<void>;
}

/**
 * The tangram bridge: `PSUBSCRIBE to:*` → one cluster broadcast per message (only the lease
 * holder among the replicas forwards), backend replies to enveloped pushes, and the `system`
 * channel's `datetime` tick. It holds no client sockets.
 */
export async function startBridge(config: BridgeConfig, logger: Logger, options: BridgeOptions = {}): Promise<Bridge> {
  const log = logger.child({ node: config.nodeId });
  if (!config.redisUrl) throw new Error("REDIS_URL is not set: the bridge needs the cluster's Redis");
  const prefix = config.redisKeyPrefix;
  const redis = connectRedis(config.redisUrl, "commands", log);
  // Subscriptions wait for Redis rather than fail (no retry limit, no command timeout): a bridge
  // started before its Redis comes up by itself, and ioredis re-issues them after every reconnect.
  const subscriber = redis.duplicate({ connectionName: "switchboard-bridge-subscriber", maxRetriesPerRequest: null, commandTimeout: undefined });
  watchConnection(subscriber, "subscriber", log);

  const cluster = createCluster({ redis, nodeId: config.nodeId, keyPrefix: prefix, logger: log });
  // The lease has its own connection: a renewal queued behind the leader's publishes would make
  // it step down while nobody else holds the lease.
  const leaseRedis = connectRedis(config.redisUrl, "lease", log);
  const lease = createLeaderLease({
    redis: leaseRedis,
    key: `${prefix}bridge:leader`,
    holder: `${config.nodeId}:${randomUUID()}`,
    logger: log,
    ...options.lease,
  });
  const isLeader = () => lease.isLeader();
  // Backend broadcasts to recovery topics are recorded here, by their one publisher (the leader).
  const history = createHistory({
    redis,
    keyPrefix: prefix,
    patterns: config.recoveryPatterns,
    maxLength: config.historyMaxLength,
    ttlSeconds: config.historyTtlSeconds,
    logger: log,
  });
  const forwarder = createForwarder({
    history,
    holder: `${config.nodeId}:${randomUUID()}`,
    cluster,
    redis,
    logger: log,
    batchWrites: batchWritesPerTick(redis),
  });
  const ingest = createIngest({ cluster: { broadcast: forwarder.forward, reply: cluster.reply.bind(cluster) }, lease, logger: log });
  const clock = startSystemClock({
    cluster,
    isLeader,
    nextCounter: () => redis.incr(`${prefix}system:counter`),
    tickMs: config.systemTickMs,
    logger: log,
  });

  subscriber.on("pmessageBuffer", (_pattern: Buffer, channel: Buffer, data: Buffer) => ingest.receive(channel, data));
  // The only plain subscription: a leader announcing that it released the lease.
  subscriber.on("messageBuffer", () => lease.tryNow());
  Promise.all([subscriber.psubscribe(`${TO_PREFIX}*`, `${REPLY_PREFIX}*`), subscriber.subscribe(lease.releasedChannel)]).then(
    () => log.info("subscribed to to:* and reply:*"),
    (error: unknown) => log.error({ err: error }, "subscribing failed"),
  );

  const health = await startHealthServer({
    host: config.host,
    port: config.port,
    status: () => ({ node: config.nodeId, leader: lease.isLeader(), ...ingest.stats, waitedForRedis: forwarder.stats.retried, droppedRedisDown: forwarder.stats.dropped }),
    ready: () => [redis, leaseRedis, subscriber].every((connection) => connection.status === "ready"),
  });
  log.info({ url: health.url }, "bridge running");

  return {
    url: health.url,
    isLeader,
    stats: ingest.stats,
    async close() {
      clock.stop();
      await lease.release();
      await subscriber.quit().catch(() => subscriber.disconnect());
      await cluster.close().catch((error: unknown) => log.warn({ err: error }, "cluster close failed"));
      await redis.quit().catch(() => redis.disconnect());
      await leaseRedis.quit().catch(() => leaseRedis.disconnect());
      await health.close();
    },
  };
}
