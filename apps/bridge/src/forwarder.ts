import type { Logger } from "pino";
import type { BroadcastOptions, Cluster } from "@switchboard/cluster";
import type { History } from "@switchboard/history";
import type { Broadcast } from "@switchboard/protocol";

/**
 * How long a backend message the leader has read may wait for Redis to come back before it is
 * dropped: covers a Redis restart or failover, not a long outage (the backend's own PUBLISHes
 * fail meanwhile, so nothing new arrives to wait behind these).
 */
export const FORWARD_RETRY_WINDOW_MS = 15_000;
/** Messages waiting for Redis at once; past it new ones are dropped (and counted), not buffered without bound. */
export const MAX_WAITING_FOR_REDIS = 50_000;
/** Pause between attempts while Redis says it is up but refused the command. */
const RETRY_PAUSE_MS = 100;

export interface ForwarderStats {
  /** Messages that waited for Redis at least once and then went out. */
  retried: number;
  /** Messages dropped after FORWARD_RETRY_WINDOW_MS, or because MAX_WAITING_FOR_REDIS were already waiting. */
  dropped: number;
}

/** What the forwarder reads of its Redis connection (an ioredis client satisfies it). */
export interface ReadyWatch {
  readonly status: string;
  once(event: "ready", listener: () => void): unknown;
  off(event: "ready", listener: () => void): unknown;
}

export interface ForwarderOptions {
  history: Pick<History, "accepts" | "append" | "findAppended">;
  /** Unique to this process: with a sequence number it names each message in history. */
  holder: string;
  cluster: { broadcast(broadcast: Broadcast, options?: BroadcastOptions): Promise<boolean> };
  /** The connection history and broadcasts go through: its `ready` event ends a wait. */
  redis: ReadyWatch;
  logger: Logger;
  retryWindowMs?: number;
}

export interface Forwarder {
  readonly stats: Readonly<ForwarderStats>;
  forward(broadcast: Broadcast): Promise<void>;
}

/**
 * Backend → cluster for the lease holder: each message is appended to its topic's history (on
 * recovery topics) and then published, and a Redis that is away when the message arrives delays
 * it instead of losing it: both steps are retried until Redis takes them. Messages of one topic
 * leave in the order they were read, so history ids only grow.
 *
 * The bridge has no local members, so a retried publish never delivers twice on this process. A
 * command that Redis ran but whose answer was lost in the crash is run again: the rare
 * duplicate is the price of never dropping what the backend was told was sent.
 */
export function createForwarder(options: ForwarderOptions): Forwarder {
  const { history, cluster, redis, logger } = options;
  const retryWindowMs = options.retryWindowMs ?? FORWARD_RETRY_WINDOW_MS;
  const stats: ForwarderStats = { retried: 0, dropped: 0 };
  const lastOfTopic = new Map<string, Promise<void>>();
  let waiting = 0;

  const redisBack = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        redis.off("ready", done);
        resolve();
      };
      const timer = setTimeout(done, redis.status === "ready" ? RETRY_PAUSE_MS : retryWindowMs);
      if (redis.status !== "ready") redis.once("ready", done);
    });

  let sequence = 0;

  const attempt = async (message: Broadcast, recorded: boolean, messageKey: string, retry: boolean, historyId: string | undefined): Promise<{ sent: boolean; historyId: string | undefined }> => {
    const { topic, event, payload } = message;
    if (recorded && historyId === undefined) {
      const appended = async () => (retry ? await history.findAppended(topic, messageKey) : undefined) ?? (await history.append(topic, event, payload, messageKey));
      historyId = await appended().catch((error: unknown) => {
        logger.debug({ err: error, topic, event }, "history append failed, retried when Redis is back");
        return undefined;
      });
      if (historyId === undefined) return { sent: false, historyId };
    }
    return { sent: await cluster.broadcast(message, historyId === undefined ? undefined : { historyId }), historyId };
  };

  const send = async (message: Broadcast): Promise<void> => {
    const recorded = history.accepts(message.topic, message.payload);
    const messageKey = recorded ? `${options.holder}:${sequence++}` : "";
    let result = await attempt(message, recorded, messageKey, false, undefined);
    if (result.sent) return;
    const drop = (why: string) => {
      stats.dropped++;
      logger.error({ topic: message.topic, event: message.event, waiting }, `backend message dropped: ${why}`);
    };
    if (waiting >= MAX_WAITING_FOR_REDIS) return drop("too many waiting for Redis");
    const giveUpAt = Date.now() + retryWindowMs;
    waiting++;
    try {
      while (!result.sent) {
        if (Date.now() >= giveUpAt) return drop("Redis did not come back in time");
        await redisBack();
        result = await attempt(message, recorded, messageKey, true, result.historyId);
      }
      stats.retried++;
    } finally {
      waiting--;
    }
  };

  return {
    stats,
    forward(message) {
      const previous = lastOfTopic.get(message.topic);
      const sent = (previous ? previous.then(() => send(message)) : send(message)).finally(() => {
        if (lastOfTopic.get(message.topic) === sent) lastOfTopic.delete(message.topic);
      });
      lastOfTopic.set(message.topic, sent);
      return sent;
    },
  };
}
