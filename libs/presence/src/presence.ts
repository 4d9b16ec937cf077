import { randomBytes } from "node:crypto";
import { PresenceEngine } from "./engine.ts";
import {
  CHECKS_PER_TTL,
  CLOSE_TIMEOUT_MS,
  DEFAULT_DIFF_BATCH_WINDOW_MS,
  DEFAULT_FLUSH_INTERVAL_MS,
  DEFAULT_KEY_PREFIX,
  DEFAULT_LIVENESS_TTL_MS,
  HELLO_TIMEOUT_MS,
  REFRESHES_PER_TTL,
} from "./limits.ts";
import { expiredIncarnations, livenessKey, refreshLiveness } from "./liveness.ts";
import type { Presence, PresenceOptions } from "./types.ts";

/**
 * Presence replicated between nodes over Redis: one pub/sub channel carries every node's
 * document changes (every node holds every topic, as Phoenix.Presence does), a liveness key per
 * incarnation proves each node alive. Redis being away never breaks local presence: publishing
 * is skipped, the sequence gap it leaves makes every node resync once Redis is back.
 */
export function createPresence(options: PresenceOptions): Presence {
  const prefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
  const ttlMs = options.livenessTtlMs ?? DEFAULT_LIVENESS_TTL_MS;
  const flushIntervalMs = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
  const diffBatchWindowMs = options.diffBatchWindowMs ?? DEFAULT_DIFF_BATCH_WINDOW_MS;
  const incarnation = `${options.nodeId}.${randomBytes(6).toString("base64url")}`;
  const channel = `${prefix}presence`;
  const log = options.logger.child({ node: options.nodeId, incarnation });
  const publisher = options.redis;
  const subscriber = publisher.duplicate();

  let closed = false;
  let ready = false;
  let helloRepliesAwaited = 0;
  let helloTimer: NodeJS.Timeout | undefined;
  let flushTimer: NodeJS.Timeout | undefined;
  let batchTimer: NodeJS.Timeout | undefined;
  let checking = false;
  /** Since when the command connection is up: missing liveness keys are no verdict before all live nodes had a TTL to rewrite them (Redis may have restarted empty). */
  let connectedSince: number | undefined = publisher.status === "ready" ? Date.now() : undefined;
  const readyWaiters: Array<() => void> = [];

  const engine = new PresenceEngine({
    incarnation,
    logger: log,
    onDiff: options.onDiff,
    hasMembers: options.hasMembers,
    onDirty: () => {
      flushTimer ??= setTimeout(flush, flushIntervalMs);
    },
    onBatch: () => {
      batchTimer ??= setTimeout(emitBatches, diffBatchWindowMs);
    },
    onSnapshot: () => {
      if (helloRepliesAwaited > 0 && --helloRepliesAwaited === 0) markReady();
    },
  });

  function publish(bytes: Uint8Array): Promise<number | undefined> {
    // Offline, ioredis would queue without bound; the skipped sequence number triggers a resync instead.
    if (publisher.status !== "ready") return Promise.resolve(undefined);
    return publisher.publish(channel, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).catch((error: unknown) => {
      log.debug({ err: error }, "presence publish failed");
      return undefined;
    });
  }

  function flush(): void {
    flushTimer = undefined;
    const changes = engine.flush();
    if (changes) void publish(changes);
  }

  function emitBatches(): void {
    batchTimer = engine.emitBatches() ? setTimeout(emitBatches, diffBatchWindowMs) : undefined;
  }

  function markReady(): void {
    clearTimeout(helloTimer);
    helloRepliesAwaited = 0;
    if (ready) return;
    ready = true;
    for (const resolve of readyWaiters.splice(0)) resolve();
  }

  function heartbeat(): void {
    if (publisher.status !== "ready") return;
    refreshLiveness(publisher, prefix, incarnation, ttlMs).catch((error: unknown) => log.debug({ err: error }, "liveness refresh failed"));
    void publish(engine.heartbeat());
  }

  async function checkLiveness(): Promise<void> {
    if (checking || connectedSince === undefined || Date.now() - connectedSince < ttlMs) return;
    checking = true;
    try {
      for (const dead of await expiredIncarnations(publisher, prefix, engine.remoteIncarnations())) {
        log.info({ dead }, "presence of a dead node removed");
        engine.dropIncarnation(dead);
      }
    } catch (error) {
      log.debug({ err: error }, "liveness check failed");
    } finally {
      checking = false;
    }
  }

  /** Subscribed (first time or after an outage): announce ourselves and ask everyone for what we lack. */
  async function onSubscriberReady(): Promise<void> {
    try {
      await subscriber.subscribe(channel);
    } catch (error) {
      log.debug({ err: error }, "presence subscribe failed");
      return;
    }
    if (closed) return;
    heartbeat();
    const receivers = await publish(engine.syncRequestToAll());
    if (ready) return;
    // Unpublished (the command connection is not up yet): the heartbeats' sequence gaps will sync us; wait the timeout.
    const others = receivers === undefined ? Number.POSITIVE_INFINITY : receivers - 1;
    if (others <= 0) return markReady();
    helloRepliesAwaited = others;
    clearTimeout(helloTimer);
    helloTimer = setTimeout(markReady, HELLO_TIMEOUT_MS);
  }

  subscriber.on("messageBuffer", (from: Buffer, message: Buffer) => {
    if (closed || from.toString() !== channel) return;
    for (const answer of engine.receive(message)) void publish(answer);
  });
  subscriber.on("ready", () => void onSubscriberReady());
  subscriber.on("error", (error: Error) => log.debug({ err: error.message }, "presence subscriber error"));
  const onPublisherReady = () => {
    connectedSince = Date.now();
    heartbeat();
  };
  const onPublisherClose = () => {
    connectedSince = undefined;
  };
  publisher.on("ready", onPublisherReady);
  publisher.on("close", onPublisherClose);

  const heartbeatTimer = setInterval(heartbeat, Math.floor(ttlMs / REFRESHES_PER_TTL));
  const checkTimer = setInterval(() => void checkLiveness(), Math.floor(ttlMs / CHECKS_PER_TTL));
  heartbeatTimer.unref();
  checkTimer.unref();

  return {
    track: (topic, memberId, key, meta) => engine.track(topic, memberId, key, meta),
    update: (topic, memberId, meta) => engine.update(topic, memberId, meta),
    untrack: (topic, memberId) => engine.untrack(topic, memberId),
    untrackAll: (memberId) => engine.untrackAll(memberId),
    list: (topic) => engine.list(topic),
    entries: () => engine.entries(),
    encodedStateBytes: () => engine.encodedStateBytes(),
    get ready() {
      return ready;
    },
    whenReady: () => (ready ? Promise.resolve() : new Promise<void>((resolve) => readyWaiters.push(resolve))),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(heartbeatTimer);
      clearInterval(checkTimer);
      clearTimeout(flushTimer);
      clearTimeout(batchTimer);
      clearTimeout(helloTimer);
      publisher.off("ready", onPublisherReady);
      publisher.off("close", onPublisherClose);
      const pending = engine.flush();
      const goodbye = Promise.all([
        pending ? publish(pending) : undefined,
        publish(engine.bye()),
        publisher.status === "ready" ? publisher.del(livenessKey(prefix, incarnation)).catch(() => undefined) : undefined,
      ]);
      await Promise.race([goodbye, delay(CLOSE_TIMEOUT_MS)]);
      subscriber.disconnect();
      markReady();
    },
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
