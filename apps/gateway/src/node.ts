import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { Redis } from "ioredis";
import { ChannelSocket, createInterception, createJoinAdmission, createRouter } from "@switchboard/channels";
import type { ChannelHandler } from "@switchboard/channels";
import { createCluster } from "@switchboard/cluster";
import type { Config } from "@switchboard/config";
import { createHistory, recordingBroadcast } from "@switchboard/history";
import { createPresence } from "@switchboard/presence";
import { CloseCode } from "@switchboard/protocol";
import type { Frame } from "@switchboard/protocol";
import { createRedisLongPollRelay, createTransportServer } from "@switchboard/transport";
import type { Connection } from "@switchboard/transport";
import { ConnectionMember } from "./connection-member.ts";
import { checkOrigin } from "@switchboard/auth";
import { registerRoutes } from "./channels/routes.ts";
import { createHttpRoutes } from "./http/routes.ts";
import { channelEventsFor, combineEvents, createMetrics, type Metrics } from "./metrics.ts";
import { createIpLimit } from "./ip-limit.ts";
import { connectRedis } from "./redis.ts";

/** Socket mount points: /socket/{websocket,longpoll} for phoenix.js, the bare /websocket for tangram clients. */
const SOCKET_PATHS = ["/socket", "/websocket"];

export interface GatewayNode {
  readonly url: string;
  readonly nodeId: string;
  /** SIGTERM path: readiness off, sockets closed with 1012 spread over the drain window, then stop. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/**
 * One gateway node: HTTP endpoints, transports, channel sockets, cluster fan-out and presence.
 * Wiring only; protocol, channel and CRDT logic live in the libs.
 */
export async function startGateway(config: Config, logger: Logger): Promise<GatewayNode> {
  const log = logger.child({ node: config.nodeId });
  if (!config.redisUrl) throw new Error("REDIS_URL is not set: a gateway node needs Redis (npm start starts a private one)");
  const redis: Redis = connectRedis(config.redisUrl, log);

  const sockets = new Map<string, ConnectionMember>();
  const admission = createJoinAdmission();
  const ipLimit = createIpLimit(config.maxConnectionsPerIp);
  let draining = false;

  const interception = createInterception();
  const cluster = createCluster({
    redis,
    nodeId: config.nodeId,
    keyPrefix: config.redisKeyPrefix,
    logger: log,
    mayIntercept: (event, historyId) => interception.mayIntercept(event, historyId),
    nodeInfo: () => ({ address: config.publicUrl, connections: sockets.size }),
  });
  const presence = createPresence({
    redis,
    nodeId: config.nodeId,
    keyPrefix: config.redisKeyPrefix,
    logger: log,
    onDiff: (topic, diff) => cluster.localBroadcast({ topic, event: "presence_diff", payload: diff }),
    hasMembers: (topic) => cluster.localMembers(topic) > 0,
  });

  const metrics = createMetrics(config.nodeId, {
    connections: () => transport.connectionCount(),
    channels: () => {
      let count = 0;
      for (const { socket } of sockets.values()) count += socket.channelCount;
      return count;
    },
    queuedBytes: () => {
      let bytes = 0;
      for (const { connection } of sockets.values()) bytes += connection.bufferedBytes;
      return bytes;
    },
    presenceEntries: () => presence.entries(),
    joinsQueued: () => admission.queued,
    redisUp: () => redis.status === "ready",
    clusterPublishErrors: () => cluster.stats.publishErrors,
    deliveries: () => cluster.stats.localDeliveries,
  });
  redis.on("reconnecting", () => metrics.redisReconnects.inc());
  const stopSamplingRedis = sampleRedisLatency(redis, metrics);
  const router = createRouter<ChannelHandler>();
  const routeEvents = registerRoutes(router, { config, cluster, presence, redis, logger: log });
  const channelEvents = combineEvents(channelEventsFor(metrics), routeEvents);

  const limits = {
    maxChannels: config.maxChannelsPerSocket,
    maxTopicBytes: config.maxTopicBytes,
    maxEventBytes: config.maxEventBytes,
    pushRatePerSecond: config.pushRatePerSecond,
  };
  const history = createHistory({
    redis,
    keyPrefix: config.redisKeyPrefix,
    patterns: config.recoveryPatterns,
    maxLength: config.historyMaxLength,
    ttlSeconds: config.historyTtlSeconds,
    logger: log,
  });
  const fanout = {
    subscribe: (socketId: string, topic: string) => cluster.subscribe(socketId, topic),
    unsubscribe: (socketId: string, topic: string) => cluster.unsubscribe(socketId, topic),
    // Handlers are not told whether other nodes were reached (a failed publish is counted and logged).
    broadcast: recordingBroadcast(history, async (broadcast, options) => void (await cluster.broadcast(broadcast, options))),
    subscriptionsSettled: () => cluster.subscriptionsSettled(),
  };
  // One options object for every socket: a node holds thousands.
  const socketOptions = { router, fanout, presence, limits, logger: log, events: channelEvents, history, admission, interception };

  // A Redis outage cuts this node off other nodes' broadcasts; once subscribed again, channels on
  // recovery topics catch up from history on their own (their sockets stayed connected, so no
  // rejoin with last_seen would ever do it).
  cluster.on("subscriptions-lost", () => {
    for (const { socket } of sockets.values()) socket.suspend();
  });
  cluster.on("resubscribed", () => {
    for (const [id, { socket }] of sockets) socket.resume().catch((error: unknown) => log.error({ err: error, socket: id }, "catch-up after resubscribing failed"));
  });

  // LongPoll is sticky-free: a request landing on another node than the session's owner is
  // relayed to the owner through Redis.
  const longPollRelay = createRedisLongPollRelay({ redis, nodeId: config.nodeId, keyPrefix: config.redisKeyPrefix, logger: log });
  let relayReady = false;
  void longPollRelay.ready.then(() => (relayReady = true));

  const transport = createTransportServer({
    paths: SOCKET_PATHS,
    checkOrigin: checkOrigin(config.allowedOrigins),
    idleTimeoutMs: config.idleTimeoutMs,
    maxFrameBytes: config.maxFrameBytes,
    sendQueueBytes: config.sendQueueBytes,
    longPoll: {
      windowMs: config.longPollWindowMs,
      sessionTimeoutMs: config.longPollSessionTimeoutMs,
      maxBatchLines: config.longPollMaxBatch,
      relay: longPollRelay,
    },
    secret: config.jwtSecret,
    nodeId: config.nodeId,
    logger: log,
    onConnection(connection) {
      if (draining) return connection.close(CloseCode.SERVICE_RESTART, "draining");
      if (!ipLimit.opened(connection.remoteAddress)) {
        // Concurrent handshakes can all pass the cheap check before the upgrade; the count here is exact.
        ipLimit.closed(connection.remoteAddress);
        metrics.connectionsRefused.inc({ reason: "per_ip_limit" });
        return connection.close(CloseCode.RATE_LIMITED, "too many connections from this address");
      }
      metrics.connectionsOpened.inc({ transport: connection.transport });
      const member = new ConnectionMember(connection, new ChannelSocket(connection, socketOptions));
      sockets.set(connection.id, member);
      cluster.add(member);
      connection.on("frame", onFrame);
      connection.on("close", onClose);
    },
  });
  // Listeners every connection shares (`this` is the connection): closures per connection would
  // cost an idle node one context and two functions each.
  function onFrame(this: Connection, frame: Frame): void {
    sockets.get(this.id)?.socket.receive(frame);
  }
  function onClose(this: Connection, code: number): void {
    metrics.closes.inc({ code: String(code) });
    if (code === CloseCode.SLOW_CONSUMER) metrics.slowConsumers.inc();
    sockets.get(this.id)?.socket.closedByTransport();
    ipLimit.closed(this.remoteAddress);
    presence.untrackAll(this.id);
    cluster.remove(this.id);
    sockets.delete(this.id);
  }

  // The first presence_state a client gets must already hold the other nodes' entries, so socket
  // requests wait for presence. The node listens at once all the same: with Redis away at start,
  // probes answer (live, not ready) and the node becomes ready when Redis comes.
  let presenceReady = false;
  void presence.whenReady().then(() => (presenceReady = true));
  const afterPresence = (handle: () => void) => (presenceReady ? handle() : void presence.whenReady().then(handle));
  const routes = createHttpRoutes({
    config,
    logger: log,
    metrics,
    ready: () => presenceReady && relayReady && !draining && redis.status === "ready" && cluster.ready,
  });
  // Refused before the handshake: HTTP 429 makes phoenix.js retry with its backoff, over either transport.
  const overIpLimit = (req: IncomingMessage) => {
    if (ipLimit.admits(req.socket.remoteAddress ?? "")) return false;
    metrics.connectionsRefused.inc({ reason: "per_ip_limit" });
    return true;
  };
  const socketRequest = (req: IncomingMessage, res: ServerResponse) => {
    if (opensLongPollSession(req) && overIpLimit(req)) {
      res.writeHead(429, { "content-length": 0 });
      return res.end();
    }
    if (!res.destroyed && !transport.handleRequest(req, res)) routes(req, res);
  };
  const server = createServer((req, res) => {
    if (isSocketPath(req)) return afterPresence(() => socketRequest(req, res));
    routes(req, res);
  });
  // One listener for every socket: a closure made per upgrade would share the upgrade's scope and
  // keep its request alive for the connection's life.
  const onUpgradeSocketError = (error: Error) => log.debug({ err: error }, "upgrade socket error");
  server.on("upgrade", (req, socket, head) => {
    socket.on("error", onUpgradeSocketError);
    afterPresence(() => {
      if (socket.destroyed) return;
      if (overIpLimit(req)) return socket.end("HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      if (draining || !transport.handleUpgrade(req, socket, head)) {
        socket.end("HTTP/1.1 " + (draining ? "503 Service Unavailable" : "404 Not Found") + "\r\nConnection: close\r\n\r\n");
      }
    });
  });
  server.on("clientError", (error, socket) => {
    log.debug({ err: error }, "malformed HTTP request");
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.address}:${address.port}`;
  log.info({ url }, "gateway listening");

  const close = async () => {
    stopSamplingRedis();
    transport.stopAccepting();
    for (const { connection } of sockets.values()) connection.close(CloseCode.GOING_AWAY, "shutdown");
    await presence.close().catch((error: unknown) => log.warn({ err: error }, "presence close failed"));
    await cluster.close().catch((error: unknown) => log.warn({ err: error }, "cluster close failed"));
    await transport.close();
    await longPollRelay.close().catch((error: unknown) => log.warn({ err: error }, "long-poll relay close failed"));
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    redis.disconnect();
  };

  return {
    url,
    nodeId: config.nodeId,
    close,
    async drain() {
      if (draining) return;
      draining = true;
      transport.stopAccepting();
      const open = [...sockets.values()];
      log.info({ sockets: open.length, windowMs: config.drainWindowMs }, "draining");
      // Spread the closes over the window so the clients' reconnects land on the other nodes as
      // a trickle, not as one storm.
      const step = open.length > 0 ? config.drainWindowMs / open.length : 0;
      await Promise.all(
        open.map(
          ({ connection }, index) =>
            new Promise<void>((resolve) =>
              setTimeout(() => {
                connection.close(CloseCode.SERVICE_RESTART, "draining");
                resolve();
              }, index * step),
            ),
        ),
      );
      await close();
      log.info("drained");
    },
  };
}

function isSocketPath(req: IncomingMessage): boolean {
  const path = (req.url ?? "/").split("?", 1)[0]!;
  return SOCKET_PATHS.some((mount) => path === mount || path.startsWith(`${mount}/`));
}

/**
 * A LongPoll GET without a session token is the handshake of a new session. A GET with a stale or
 * forged token also opens one; those pass here and are counted exactly when the connection opens.
 */
function opensLongPollSession(req: IncomingMessage): boolean {
  if (req.method !== "GET" || req.headers["x-phoenix-longpoll-token"] !== undefined) return false;
  // Split by hand: `new URL` throws on request targets such as "//" that clients may send.
  const [path = "/", query = ""] = (req.url ?? "/").split("?", 2);
  return path.replace(/\/+$/, "").endsWith("/longpoll") && !new URLSearchParams(query).has("token");
}

/** Redis round trip as the node sees it: one PING now and every few seconds (not while it is down). */
const REDIS_LATENCY_SAMPLE_MS = 5_000;

function sampleRedisLatency(redis: Redis, metrics: Metrics): () => void {
  const sample = () => {
    if (redis.status !== "ready") return;
    const started = performance.now();
    redis.ping().then(
      () => metrics.redisLatency.observe((performance.now() - started) / 1000),
      () => {}, // an outage shows in switchboard_redis_up and the reconnect counter
    );
  };
  sample();
  redis.on("ready", sample);
  const timer = setInterval(sample, REDIS_LATENCY_SAMPLE_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    redis.off("ready", sample);
  };
}
