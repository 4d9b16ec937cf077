import { Redis } from "ioredis";
import pino from "pino";
import type { Broadcast, Frame, Message, Reply, Serializer } from "@switchboard/protocol";
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
  node.redis.disconnect();
}

/** Counts encode calls per kind, so tests can see the encode-once cache at work. */
export interface CountingSerializer extends Serializer {
  readonly calls: { broadcast: number; push: number; reply: number };
}

/**
 * A stand-in wire format: readable text frames tagged with the format, bytes as a Buffer frame.
 * Only encoding matters here; the cluster never decodes.
 */
export function testSerializer(format: string): CountingSerializer {
  const calls = { broadcast: 0, push: 0, reply: 0 };
  const frame = (parts: unknown[], payload: unknown): Frame =>
    payload instanceof Uint8Array
      ? Buffer.concat([Buffer.from(JSON.stringify([format, ...parts]) + "\n"), payload])
      : JSON.stringify([format, ...parts, payload]);
  return {
    vsn: "2.0.0",
    format,
    calls,
    decode: () => ({ ok: false, error: { code: "invalid_shape", detail: "test serializer decodes nothing" } }),
    encodeBroadcast(broadcast: Broadcast) {
      calls.broadcast++;
      return frame([null, null, broadcast.topic, broadcast.event], broadcast.payload);
    },
    encodePush(message: Message) {
      calls.push++;
      return frame([message.joinRef, null, message.topic, message.event], message.payload);
    },
    encodeReply(reply: Reply) {
      calls.reply++;
      return frame([reply.joinRef, reply.ref, reply.topic, "phx_reply"], { status: reply.status, response: reply.response });
    },
  } as CountingSerializer;
}

export interface FakeMember extends Member {
  readonly frames: Frame[];
  /** Decoded text frames: [format, joinRef, ref, topic, event, payload]. */
  texts(): unknown[][];
}

export function fakeMember(id: string, serializer: Serializer, intercept?: (broadcast: Broadcast) => boolean): FakeMember {
  const frames: Frame[] = [];
  return {
    id,
    serializer,
    frames,
    write: (frame) => void frames.push(frame),
    ...(intercept ? { intercept } : {}),
    texts: () => frames.filter((frame): frame is string => typeof frame === "string").map((frame) => JSON.parse(frame) as unknown[]),
  };
}

/** Text frames of one event, by payload, for exactly-once and order checks. */
export function payloadsOf(member: FakeMember, event: string): unknown[] {
  return member
    .texts()
    .filter((frame) => frame[4] === event)
    .map((frame) => frame[5]);
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
