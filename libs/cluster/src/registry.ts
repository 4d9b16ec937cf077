import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { NodeInfo } from "./api.ts";
import type { RedisNames } from "./naming.ts";

export interface RegistryOptions {
  redis: Redis;
  names: RedisNames;
  nodeId: string;
  info: () => { address?: string; connections: number };
  heartbeatMs: number;
  ttlMs: number;
  logger: Logger;
  onNodeDown: (nodeId: string) => void;
}

/**
 * The node registry: each node keeps `<prefix>node:<id>` (its NodeInfo as JSON) alive with a
 * PX TTL and indexes its id in a sorted set, so listing needs no SCAN. A node whose key expired
 * is dead: whoever lists first removes it from the index. Every node lists on each heartbeat,
 * compares the live set with the one it listed before and reports the ids that vanished as down.
 */
export class NodeRegistry {
  private readonly startedAt = Date.now();
  private timer: NodeJS.Timeout | undefined;
  /** Ids seen alive at the last heartbeat; undefined until the first one completes. */
  private known: Set<string> | undefined;
  /** After Redis lost its data (restart), peers re-register within a heartbeat: not down. */
  private quietUntil = 0;
  private registered = false;

  constructor(private readonly options: RegistryOptions) {}

  start(): void {
    this.timer = setInterval(this.beat, this.options.heartbeatMs);
    this.timer.unref();
    // Also on every (re)connection: a node is listed as soon as Redis can hear of it.
    this.options.redis.on("ready", this.beat);
    this.beat();
  }

  async list(): Promise<NodeInfo[]> {
    const { redis, names } = this.options;
    const ids = await redis.zrange(names.nodeIndex, 0, -1);
    if (ids.length === 0) return [];
    const values = await redis.mget(ids.map((id) => names.nodeKey(id)));
    const live: NodeInfo[] = [];
    const expired: string[] = [];
    ids.forEach((id, index) => {
      const info = parseNodeInfo(values[index]);
      if (info) live.push(info);
      else expired.push(id);
    });
    if (expired.length > 0) await redis.zrem(names.nodeIndex, ...expired);
    this.noticeDownNodes(live, Date.now());
    return live;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.options.redis.off("ready", this.beat);
    const { redis, names, nodeId } = this.options;
    if (redis.status !== "ready") return;
    try {
      await redis.multi().del(names.nodeKey(nodeId)).zrem(names.nodeIndex, nodeId).exec();
    } catch (error) {
      this.options.logger.warn({ err: error }, "node registry: could not deregister (the entry expires by itself)");
    }
  }

  private readonly beat = (): void => void this.heartbeat();

  private async heartbeat(): Promise<void> {
    const { redis, names, nodeId, ttlMs, logger } = this.options;
    if (redis.status !== "ready") return;
    try {
      const now = Date.now();
      const info: NodeInfo = { id: nodeId, ...this.options.info(), startedAt: this.startedAt, lastSeen: now };
      const previous = await redis.set(names.nodeKey(nodeId), JSON.stringify(info), "PX", ttlMs, "GET");
      await redis.zadd(names.nodeIndex, now, nodeId);
      if (previous === null && this.registered) this.quietUntil = now + ttlMs;
      this.registered = true;
      await this.list();
    } catch (error) {
      logger.warn({ err: error }, "node registry heartbeat failed");
    }
  }

  private noticeDownNodes(live: NodeInfo[], now: number): void {
    const alive = new Set(live.map((node) => node.id));
    // Without this node in it, the listing comes from before its first heartbeat or from a Redis
    // that lost its data (restart): it says nothing about who is down.
    if (!alive.has(this.options.nodeId)) return;
    const previous = this.known;
    this.known = alive;
    if (previous === undefined) return;
    if (now < this.quietUntil) {
      for (const id of previous) alive.add(id);
      return;
    }
    for (const id of previous) {
      if (!alive.has(id)) this.options.onNodeDown(id);
    }
  }
}

function parseNodeInfo(raw: string | null): NodeInfo | undefined {
  if (raw === null) return undefined;
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value !== "object" || value === null) return undefined;
    const { id, address, startedAt, connections, lastSeen } = value as Record<string, unknown>;
    if (typeof id !== "string" || typeof startedAt !== "number" || typeof connections !== "number" || typeof lastSeen !== "number") {
      return undefined;
    }
    return { id, ...(typeof address === "string" ? { address } : {}), startedAt, connections, lastSeen };
  } catch {
    return undefined;
  }
}
