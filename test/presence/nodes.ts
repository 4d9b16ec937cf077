import { Redis } from "ioredis";
import { Presence as PhoenixPresence } from "phoenix";
import { pino } from "pino";
import { createPresence, type Presence, type PresenceDiff, type PresenceState } from "@switchboard/presence";

const silent = pino({ level: "silent" });

export interface TestNode {
  name: string;
  presence: Presence;
  redis: Redis;
  diffs: Array<{ topic: string; diff: PresenceDiff; at: number }>;
  /** Starts a simulated phoenix.js client on `topic`: `presence_state` now, every later diff applied. */
  watch(topic: string): void;
  /** What the watching client shows; undefined when `topic` is not watched. */
  clientView(topic: string): PresenceState | undefined;
  close(): Promise<void>;
}

export interface NodeOptions {
  livenessTtlMs?: number;
  flushIntervalMs?: number;
}

/** One presence instance with its own Redis connection, as a gateway node would run it. */
export function startNode(redisUrl: string, keyPrefix: string, name: string, options: NodeOptions = {}): TestNode {
  // Like the gateway's connection: retries quickly forever, fails commands instead of queueing them for long.
  const redis = new Redis(redisUrl, { retryStrategy: (attempt) => Math.min(attempt * 100, 1_000), maxRetriesPerRequest: 2 });
  redis.on("error", () => {});
  const views = new Map<string, PresenceState>();
  const diffs: TestNode["diffs"] = [];
  const presence = createPresence({
    redis,
    nodeId: name,
    keyPrefix,
    logger: silent,
    ...options,
    onDiff(topic, diff) {
      diffs.push({ topic, diff, at: Date.now() });
      const view = views.get(topic);
      if (view) views.set(topic, PhoenixPresence.syncDiff(view, structuredClone(diff)));
    },
  });
  return {
    name,
    presence,
    redis,
    diffs,
    watch: (topic) => void views.set(topic, structuredClone(presence.list(topic))),
    clientView: (topic) => views.get(topic),
    async close() {
      await presence.close();
      redis.disconnect();
    },
  };
}

/** Key → sorted phx_refs: what must agree between nodes and clients (a client's meta order follows diff arrival). */
export function refsOf(state: PresenceState): Record<string, string[]> {
  return Object.fromEntries(
    Object.keys(state)
      .sort()
      .map((key) => [key, state[key]!.metas.map((meta) => meta.phx_ref).sort()]),
  );
}

export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - started;
}

/** Every node lists `topic` the same (same refs under the same keys) and every watching client agrees. */
export function converged(nodes: TestNode[], topic: string): boolean {
  const expected = JSON.stringify(refsOf(nodes[0]!.presence.list(topic)));
  return nodes.every((node) => {
    const view = node.clientView(topic);
    return JSON.stringify(refsOf(node.presence.list(topic))) === expected && (!view || JSON.stringify(refsOf(view)) === expected);
  });
}
