import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { after, before, test } from "node:test";
import { Redis } from "ioredis";
import { pino } from "pino";
import { createTokenVerifier, issueToken } from "@switchboard/auth";
import type { Channel } from "@switchboard/channels";
import type { Broadcast } from "@switchboard/protocol";
import { createAdmin, type AdminCluster } from "../../apps/gateway/src/channels/admin.ts";
import { startRedis, type RedisProcess } from "../support/redis.ts";
import { eventually, TEST_SECRET } from "../support/gateway.ts";

/**
 * The admin channel's cluster-wide counts on real Redis, several "nodes" in one process: first
 * and last member decided once, a dead node's members discounted exactly once by the survivors.
 */
let redis: RedisProcess;
const connections: Redis[] = [];
const verifier = createTokenVerifier({ secret: TEST_SECRET, algorithms: ["HS256"] });

before(async () => {
  redis = await startRedis();
});
after(async () => {
  for (const connection of connections) connection.disconnect();
  await redis?.stop();
});

function node(nodeId: string, alive: string[] = []) {
  const connection = new Redis(redis.url);
  connections.push(connection);
  const sent: Broadcast[] = [];
  const registry = new EventEmitter();
  const cluster: AdminCluster = {
    broadcast: async (broadcast) => (sent.push(broadcast), true),
    nodes: async () => alive.map((id) => ({ id, startedAt: 0, connections: 0, lastSeen: Date.now() })),
    on(event, listener) {
      registry.on(event, listener);
      return this;
    },
  };
  const admin = createAdmin({ verifier, redis: connection, cluster, nodeId, keyPrefix: "t:", logger: pino({ level: "silent" }) });
  const events = () => sent.map(({ event, payload }) => ({ event, ...(payload as object) }));
  return { admin, events, nodeDown: (id: string) => registry.emit("node-down", id) };
}

const list = async (admin: ReturnType<typeof node>["admin"]) => {
  const result = await admin.handler.handleIn!("channel.list", {}, {} as Channel, { ref: "1" });
  return "reply" in result ? result.response : undefined;
};

test("first join adds, last leave removes, counts span nodes; the admin topic is not reported", async () => {
  const a = node("a");
  const b = node("b");
  a.admin.events.joined!("room", "s1");
  await eventually(() => a.events().length === 2, "add + join");
  b.admin.events.joined!("room", "s2");
  b.admin.events.joined!("admin", "s9");
  await eventually(() => b.events().length === 1, "join on b");
  assert.deepEqual(await list(a.admin), { channels: [{ topic: "room", members: 2 }] });
  a.admin.events.left!("room", "s1", "leave");
  await eventually(() => a.events().length === 3, "leave on a");
  b.admin.events.left!("room", "s2", "closed");
  await eventually(() => b.events().length === 3, "leave + remove on b");
  assert.deepEqual(a.events(), [
    { event: "channel.add", topic: "room" },
    { event: "channel.join", topic: "room", socket: "s1", node: "a", members: 1 },
    { event: "channel.leave", topic: "room", socket: "s1", node: "a", members: 1 },
  ]);
  assert.deepEqual(b.events(), [
    { event: "channel.join", topic: "room", socket: "s2", node: "b", members: 2 },
    { event: "channel.leave", topic: "room", socket: "s2", node: "b", members: 0 },
    { event: "channel.remove", topic: "room" },
  ]);
  assert.deepEqual(await list(a.admin), { channels: [] });
});

test("a dead node's members are discounted once, by whichever survivor sweeps first", async () => {
  const doomed = node("doomed");
  const survivor1 = node("s1");
  const survivor2 = node("s2");
  doomed.admin.events.joined!("lobby", "d1");
  doomed.admin.events.joined!("lobby", "d2");
  doomed.admin.events.joined!("solo", "d3");
  survivor1.admin.events.joined!("lobby", "x1");
  await eventually(async () => JSON.stringify(await list(survivor1.admin)).includes('"members":3'), "three in lobby");

  survivor1.nodeDown("doomed");
  survivor2.nodeDown("doomed");
  const sweepEvents = () => [...survivor1.events(), ...survivor2.events()].filter((e) => (e as { node?: string }).node === "doomed" || e.event === "channel.remove");
  await eventually(() => sweepEvents().length === 3, "leave lobby, leave solo, remove solo");
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(
    sweepEvents().sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))),
    [
      { event: "channel.leave", topic: "lobby", socket: null, node: "doomed", members: 1, departed: 2 },
      { event: "channel.leave", topic: "solo", socket: null, node: "doomed", members: 0, departed: 1 },
      { event: "channel.remove", topic: "solo" },
    ],
  );
  assert.deepEqual(await list(survivor2.admin), { channels: [{ topic: "lobby", members: 1 }] });

  // A late leave from the dead node (its socket closes as it goes down) is not counted twice.
  doomed.admin.events.left!("lobby", "d1", "closed");
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(await list(survivor2.admin), { channels: [{ topic: "lobby", members: 1 }] });
  survivor1.admin.events.left!("lobby", "x1", "leave");
  await eventually(async () => JSON.stringify(await list(survivor1.admin)) === '{"channels":[]}', "lobby gone");
});

test("at start, a node drops its own stale share and that of nodes missing from the registry", async () => {
  const previous = node("restarted");
  const gone = node("gone");
  previous.admin.events.joined!("old", "p1");
  gone.admin.events.joined!("old", "g1");
  const alive = node("alive");
  alive.admin.events.joined!("old", "a1");
  await eventually(async () => JSON.stringify(await list(alive.admin)).includes('"members":3'), "three in old");
  const restarted = node("restarted", ["restarted", "alive"]);
  await restarted.admin.sweepStale();
  assert.deepEqual(await list(restarted.admin), { channels: [{ topic: "old", members: 1 }] });
});

test("admin join needs a token whose claim allows admin; unknown pushes get an error reply", async () => {
  const { admin } = node("j");
  const sign = (channel: string) => issueToken({ id: "root", channel, ttlSeconds: 60, secret: TEST_SECRET });
  assert.deepEqual(await admin.handler.join("admin", { token: sign("admin") }, {} as never), { ok: {} });
  assert.deepEqual(await admin.handler.join("admin", { token: sign("room:*") }, {} as never), { error: { reason: "token_channel_mismatch" } });
  assert.deepEqual(await admin.handler.join("admin", {}, {} as never), { error: { reason: "token_missing" } });
  assert.deepEqual(await admin.handler.handleIn!("channel.nuke", {}, {} as Channel, { ref: "2" }), { reply: "error", response: { reason: "unknown admin event" } });
});
