import { Redis } from "ioredis";
import pino from "pino";
import { decodeServerFrame } from "@switchboard/protocol";
import type { Broadcast, Frame, Serializer, ServerFrame } from "@switchboard/protocol";
import { createCluster, type Cluster, type Member } from "@switchboard/cluster";

/**
 * In-process cluster for tests: every node is a real cluster instance with its own ioredis
 * clients against one real Redis; members are fakes recording the frames written to them.
 */

export const silentLogger = pino({ level: "silent" });

export interface TestNode {
  id: string;
  cluster: Cluster;
  redis: Redis;
}

export interface NodeSettings {
  heartbeatMs?: number;
  nodeTtlMs?: number;
  /** ioredis option, inherited by the cluster's subscription connection; default 20. */
  maxRetriesPerRequest?: number;
}

export async function startNode(redisUrl: string, id: string, keyPrefix: string, settings: NodeSettings = {}): Promise<TestNode> {
  const { maxRetriesPerRequest, ...clusterSettings } = settings;
  const redis = new Redis(redisUrl, { lazyConnect: true, ...(maxRetriesPerRequest === undefined ? {} : { maxRetriesPerRequest }) });
  redis.on("error", () => undefined);
  await redis.connect();
  const cluster = createCluster({ redis, nodeId: id, keyPrefix, logger: silentLogger, ...clusterSettings });
  await waitFor(() => cluster.ready, 5_000, `${id} ready`);
  return { id, cluster, redis };
}

export async function stopNode(node: TestNode): Promise<void> {
  await node.cluster.close();
  // A second disconnect of an ended client arms a 2 s timer that nothing clears.
  if (node.redis.status !== "end") node.redis.disconnect();
}

/** Counts encode calls per kind, so tests can see the encode-once cache at work. */
export interface CountingSerializer extends Serializer {
  readonly calls: { broadcast: number; push: number; reply: number };
}

export function counting(base: Serializer): CountingSerializer {
  const calls = { broadcast: 0, push: 0, reply: 0 };
  return {
    vsn: base.vsn,
    format: base.format,
    calls,
    decode: (frame) => base.decode(frame),
    encodeBroadcast(broadcast) {
      calls.broadcast++;
      return base.encodeBroadcast(broadcast);
    },
    encodePush(message) {
      calls.push++;
      return base.encodePush(message);
    },
    encodeReply(reply) {
      calls.reply++;
      return base.encodeReply(reply);
    },
  };
}

export interface FakeMember extends Member {
  readonly frames: Frame[];
  /** The frames as a Phoenix client reads them. */
  decoded(): ServerFrame[];
}

export function fakeMember(id: string, serializer: Serializer, intercept?: (broadcast: Broadcast) => boolean): FakeMember {
  const frames: Frame[] = [];
  return {
    id,
    serializer,
    frames,
    write: (frame) => void frames.push(frame),
    ...(intercept ? { intercept } : {}),
    decoded: () =>
      frames.map((frame) => {
        const result = decodeServerFrame(frame);
        if (!result.ok) throw new Error(`member ${id} got an undecodable frame: ${result.error.detail}`);
        return result.frame;
      }),
  };
}

/** Event name and payload of a frame (replies are event `phx_reply`). */
export function eventOf(frame: ServerFrame): { event: string; payload: unknown } {
  switch (frame.kind) {
    case "broadcast":
      return frame.broadcast;
    case "push":
      return frame.message;
    case "reply":
      return { event: "phx_reply", payload: { status: frame.reply.status, response: frame.reply.response } };
  }
}

export function eventsOf(member: FakeMember): string[] {
  return member.decoded().map((frame) => eventOf(frame).event);
}

/** Payloads of one event, in arrival order, for exactly-once and order checks. */
export function payloadsOf(member: FakeMember, event: string): unknown[] {
  return member
    .decoded()
    .map(eventOf)
    .filter((frame) => frame.event === event)
    .map((frame) => frame.payload);
}

export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function settled(nodes: TestNode[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.cluster.subscriptionsSettled()));
}

let prefixes = 0;
/** A key prefix per test, so suites sharing one Redis never see each other's channels. */
export function uniquePrefix(): string {
  return `t${process.pid}-${++prefixes}:`;
}
