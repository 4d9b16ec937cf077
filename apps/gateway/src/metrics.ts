import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { ChannelEvents } from "@switchboard/channels";

/**
 * The node's Prometheus families. Gauges that mirror live state are collected on scrape
 * (`collect`), so the hot path only increments counters; counters the cluster already keeps
 * (deliveries, one per member per broadcast) are caught up on scrape too.
 */
export interface LiveState {
  connections(): Record<string, number>;
  channels(): number;
  queuedBytes(): number;
  presenceEntries(): number;
  /** Joins waiting for a turn of their own (join admission). */
  joinsQueued(): number;
  redisUp(): boolean;
  clusterPublishErrors(): number;
  /** Frames the cluster wrote to local members since start. */
  deliveries(): number;
}

/**
 * How often the event-loop delay histogram samples (prom-client's `monitorEventLoopDelay`
 * resolution). Each sample is a timer that wakes an idle node: at 20 ms that was 50 wake-ups a
 * second per node, each costing more CPU than the sample on a virtualised host (≈ 130 µs after
 * 20 ms asleep), and a third of a gateway's wake-ups at 1,500 messages/s. A stall as long as this
 * is always sampled; shorter ones only when a sample falls due during them.
 */
const EVENT_LOOP_SAMPLE_MS = 100;

export function createMetrics(nodeId: string, live: LiveState) {
  const registry = new Registry();
  registry.setDefaultLabels({ node: nodeId });
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  let deliveriesReported = 0;

  const metrics = {
    registry,
    connections: new Gauge({
      name: "switchboard_connections",
      help: "Open client connections",
      labelNames: ["transport"],
      registers: [registry],
      collect() {
        for (const [transport, count] of Object.entries(live.connections())) this.set({ transport }, count);
      },
    }),
    connectionsOpened: new Counter({ name: "switchboard_connections_opened_total", help: "Client connections accepted", labelNames: ["transport"], registers: [registry] }),
    connectionsRefused: new Counter({ name: "switchboard_connections_refused_total", help: "Connection attempts refused by a limit", labelNames: ["reason"], registers: [registry] }),
    closes: new Counter({ name: "switchboard_connection_closes_total", help: "Connections closed, by close code", labelNames: ["code"], registers: [registry] }),
    channels: new Gauge({ name: "switchboard_channels", help: "Joined channels on this node", registers: [registry], collect() { this.set(live.channels()); } }),
    joins: new Counter({ name: "switchboard_joins_total", help: "Successful channel joins", registers: [registry] }),
    joinErrors: new Counter({ name: "switchboard_join_errors_total", help: "Refused joins, by reason", labelNames: ["reason"], registers: [registry] }),
    pushes: new Counter({ name: "switchboard_client_pushes_total", help: "Client pushes handled", registers: [registry] }),
    crashes: new Counter({ name: "switchboard_channel_crashes_total", help: "Channel handler crashes", registers: [registry] }),
    malformed: new Counter({ name: "switchboard_malformed_frames_total", help: "Undecodable client frames (socket closed 1011)", labelNames: ["code"], registers: [registry] }),
    staleJoinRefs: new Counter({ name: "switchboard_stale_join_refs_total", help: "Pushes dropped for a stale join_ref", registers: [registry] }),
    rateLimited: new Counter({ name: "switchboard_rate_limited_total", help: "Pushes refused by the per-socket rate limit", registers: [registry] }),
    deliveries: new Counter({
      name: "switchboard_deliveries_total",
      help: "Frames written to client connections",
      registers: [registry],
      collect() {
        // A counter only goes up: add what the cluster counted since the last scrape.
        const total = live.deliveries();
        this.inc(total - deliveriesReported);
        deliveriesReported = total;
      },
    }),
    slowConsumers: new Counter({ name: "switchboard_slow_consumers_total", help: "Connections closed because their send queue overflowed", registers: [registry] }),
    sendQueueBytes: new Gauge({ name: "switchboard_send_queue_bytes", help: "Bytes queued for clients and not yet written", registers: [registry], collect() { this.set(live.queuedBytes()); } }),
    redisLatency: new Histogram({
      name: "switchboard_redis_command_seconds",
      help: "Redis round-trip latency (PING sampled every few seconds)",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    redisReconnects: new Counter({ name: "switchboard_redis_reconnects_total", help: "Redis reconnect attempts", registers: [registry] }),
    redisUp: new Gauge({ name: "switchboard_redis_up", help: "1 when the node's Redis connection is ready", registers: [registry], collect() { this.set(live.redisUp() ? 1 : 0); } }),
    clusterPublishErrors: new Gauge({
      name: "switchboard_cluster_publish_errors",
      help: "Cluster publishes that failed since start (Redis unreachable)",
      registers: [registry],
      collect() {
        this.set(live.clusterPublishErrors());
      },
    }),
    presenceEntries: new Gauge({ name: "switchboard_presence_entries", help: "Presence entries held by this node", registers: [registry], collect() { this.set(live.presenceEntries()); } }),
    joinsQueued: new Gauge({ name: "switchboard_joins_queued", help: "Joins waiting for a later event-loop turn (join admission during a storm)", registers: [registry], collect() { this.set(live.joinsQueued()); } }),
  };
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;


export function channelEventsFor(metrics: Metrics): ChannelEvents {
  return {
    joined: () => metrics.joins.inc(),
    joinRefused: (_topic, reason) => metrics.joinErrors.inc({ reason }),
    crashed: () => metrics.crashes.inc(),
    malformed: (code) => metrics.malformed.inc({ code }),
    staleJoinRef: () => metrics.staleJoinRefs.inc(),
    rateLimited: () => metrics.rateLimited.inc(),
    pushed: () => metrics.pushes.inc(),
  };
}

/** Calls each hook of every listener in turn; a failing listener does not stop the others. */
export function combineEvents(...listeners: ChannelEvents[]): ChannelEvents {
  const combined: ChannelEvents = {};
  const names = new Set(listeners.flatMap((listener) => Object.keys(listener) as Array<keyof ChannelEvents>));
  for (const name of names) {
    const hooks = listeners.map((listener) => listener[name]).filter((hook) => hook !== undefined) as Array<(...args: unknown[]) => void>;
    (combined as Record<string, (...args: unknown[]) => void>)[name] = (...args) => {
      for (const hook of hooks) {
        try {
          hook(...args);
        } catch {
          // Hooks are counters and announcements: a failure must not break the socket.
        }
      }
    };
  }
  return combined;
}
