import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { after, before, test } from "node:test";
import { Redis } from "ioredis";
import { pino } from "pino";
import { createTokenVerifier, issueToken } from "@switchboard/auth";
import type { Channel } from "@switchboard/channels";
import type { Broadcast } from "@switchboard/protocol";
import { createAdmin, LISTENER_TTL_MS, type AdminCluster } from "../../apps/gateway/src/channels/admin.ts";
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

function node(nodeId: string, alive: string[] = [], topics: AdminCluster["topics"] = async () => []) {
  const connection = new Redis(redis.url);
  connections.push(connection);
  const sent: Broadcast[] = [];
  const registry = new EventEmitter();
  const cluster: AdminCluster = {
    broadcast: async (broadcast) => (sent.push(broadcast), true),
    nodes: async () => alive.map((id) => ({ id, startedAt: 0, connections: 0, lastSeen: Date.now() })),
    topics,
    on(event, listener) {
      registry.on(event, listener);
      return this;
    },
  };
  const admin = createAdmin({ verifier, redis: connection, cluster, nodeId, keyPrefix: "t:", logger: pino({ level: "silent" }) });
  const events = () => sent.map(({ event, payload }) => ({ event, ...(payload as object) }));
  return { admin, events, nodeDown: (id: string) => registry.emit("node-down", id) };
}

const adminToken = () => issueToken({ id: "root", channel: "admin", ttlSeconds: 60, secret: TEST_SECRET });

/** An admin client joins on this node, as the channel runs it: the join handler, then the joined hook. */
async function adminJoins(on: ReturnType<typeof node>, socket: string): Promise<void> {
  assert.deepEqual(await on.admin.handler.join("admin", { token: adminToken() }, {} as never), { ok: {} });
  on.admin.events.joined!("admin", socket);
}

const list = async (admin: ReturnType<typeof node>["admin"]) => {
  const result = await admin.handler.handleIn!("channel.list", {}, {} as Channel, { ref: "1" });
  return "reply" in result ? result.response : undefined;
};

test("first join adds, last leave removes, counts span nodes; the admin topic is not reported", async () => {
  const a = node("a");
  const b = node("b");
  await adminJoins(b, "s9");
  a.admin.events.joined!("room", "s1");
  await eventually(() => a.events().length === 2, "add + join");
  b.admin.events.joined!("room", "s2");
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
  b.admin.events.left!("admin", "s9", "leave");
});

test("channel.list carries each topic's message count when the nodes answer, and goes without it when they do not", async () => {
  const counted = node("a", [], async () => [{ topic: "room", members: 1, messages: 17 }, { topic: "elsewhere", members: 1, messages: 3 }]);
  counted.admin.events.joined!("room", "s1");
  await eventually(async () => JSON.stringify(await list(counted.admin)).includes("room"), "room counted");
  assert.deepEqual(await list(counted.admin), { channels: [{ topic: "room", members: 1, messages: 17 }] });

  const refused = node("b", [], () => Promise.reject(new Error("Redis is unreachable")));
  assert.deepEqual(await list(refused.admin), { channels: [{ topic: "room", members: 1 }] });

  const silent = node("c", [], () => new Promise(() => {}));
  const asked = performance.now();
  assert.deepEqual(await list(silent.admin), { channels: [{ topic: "room", members: 1 }] });
  assert.ok(performance.now() - asked < 2_000, "the list does not wait for the adapter's own 5 s request timeout");
  counted.admin.events.left!("room", "s1", "leave");
  await eventually(async () => JSON.stringify(await list(counted.admin)) === '{"channels":[]}', "room gone");
});

test("a dead node's members are discounted once, by whichever survivor sweeps first", async () => {
  const doomed = node("doomed");
  const survivor1 = node("s1");
  const survivor2 = node("s2");
  await adminJoins(survivor1, "admin1");
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
  survivor1.admin.events.left!("admin", "admin1", "leave");
});

test("nothing is announced while no admin client is joined anywhere; counts are kept all the same", async () => {
  const commands: string[][] = [];
  const connection = new Redis(redis.url);
  const monitor = await connection.monitor();
  connections.push(connection, monitor);
  monitor.on("monitor", (_time: string, args: string[]) => void commands.push(args));
  const [quiet, other] = [node("quiet"), node("other")];
  quiet.admin.events.joined!("q", "s1");
  other.admin.events.joined!("q", "s2");
  quiet.admin.events.left!("q", "s1", "leave");
  await eventually(async () => JSON.stringify(await list(quiet.admin)) === '{"channels":[{"topic":"q","members":1}]}', "counts of q");
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual([...quiet.events(), ...other.events()], [], "no announcement without an admin client");

  // An admin client on one node: both nodes announce, from its join reply on.
  await adminJoins(other, "admin1");
  quiet.admin.events.joined!("q", "s3");
  await eventually(() => quiet.events().length === 1, "the join announced");
  assert.deepEqual(quiet.events(), [{ event: "channel.join", topic: "q", socket: "s3", node: "quiet", members: 2 }]);

  // Its leave (or its node's end: the entry expires) turns them off again.
  other.admin.events.left!("admin", "admin1", "closed");
  await eventually(() => commands.some(([command]) => command?.toLowerCase() === "zrem"), "the listener entry removed");
  quiet.admin.events.left!("q", "s3", "leave");
  other.admin.events.left!("q", "s2", "leave");
  await eventually(async () => JSON.stringify(await list(quiet.admin)) === '{"channels":[]}', "q gone");
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(quiet.events().length + other.events().length, 1, "only the join made while the admin client listened");
});

test("a node that died with an admin client keeps announcements on no longer than the listener TTL", async () => {
  const ttlSeconds = LISTENER_TTL_MS / 1000;
  const crashed = node("crashed");
  await adminJoins(crashed, "admin1");
  const connection = new Redis(redis.url);
  connections.push(connection);
  const score = await connection.zscore("t:admin:listeners", "crashed");
  const [seconds] = await connection.time();
  assert.ok(Math.abs(Number(score) - (Number(seconds) + ttlSeconds) * 1000) < 2_000, `the entry expires one TTL from now (${score})`);
  // Its expiry, with nobody refreshing it, is as good as gone: no announcement.
  await connection.zadd("t:admin:listeners", (Number(seconds) - 1) * 1000, "crashed");
  const survivor = node("survivor");
  survivor.admin.events.joined!("after-crash", "s1");
  await eventually(async () => JSON.stringify(await list(survivor.admin)).includes("after-crash"), "the join counted");
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(survivor.events(), []);
  crashed.admin.events.left!("admin", "admin1", "closed");
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

test("the count scripts run by their SHA1 and are sent again when Redis lost them (SCRIPT FLUSH, as after a restart)", async () => {
  const a = node("flushed");
  const counts = async () => JSON.stringify(await list(a.admin));
  a.admin.events.joined!("sha-room", "s1");
  await eventually(async () => (await counts()).includes('{"topic":"sha-room","members":1}'), "first join counted");
  const connection = new Redis(redis.url);
  connections.push(connection);
  await connection.script("FLUSH");
  a.admin.events.joined!("sha-room", "s2");
  await eventually(async () => (await counts()).includes('{"topic":"sha-room","members":2}'), "join after the flush counted");
  a.admin.events.left!("sha-room", "s1", "leave");
  await eventually(async () => (await counts()).includes('{"topic":"sha-room","members":1}'), "leave counted by its script");
});

test("a turn's joins and leaves are counted by one script call: its text on a fresh connection, then its SHA1; nothing fails NOSCRIPT", async () => {
  const stats = new Redis(redis.url);
  connections.push(stats);
  await stats.script("FLUSH");
  await stats.config("RESETSTAT");
  const a = node("burst");
  await eventually(() => connections.at(-1)!.status === "ready", "the node's connection up");
  for (let index = 0; index < 50; index += 1) a.admin.events.joined!(`burst-${index}`, `s${index}`);
  await eventually(async () => (await stats.hlen("t:admin:members")) >= 50, "the first turn counted");
  for (let index = 0; index < 50; index += 1) a.admin.events.left!(`burst-${index}`, `s${index}`, "leave");
  await eventually(async () => (await stats.hget("t:admin:members", "burst-49")) === null, "the second turn counted");
  const commandStats = await stats.info("commandstats");
  const calls = (command: string) => Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(commandStats)?.[1] ?? 0);
  const failed = (command: string) => Number(new RegExp(`cmdstat_${command}:.*failed_calls=(\\d+)`).exec(commandStats)?.[1] ?? 0);
  assert.equal(calls("eval"), 1, commandStats);
  assert.equal(calls("evalsha"), 1, commandStats);
  assert.equal(failed("evalsha"), 0, commandStats);
});

test("joins and leaves of one turn are counted and announced in the order they happened", async () => {
  const a = node("ordered");
  await adminJoins(a, "admin1");
  a.admin.events.joined!("brief", "s1");
  a.admin.events.joined!("brief", "s2");
  a.admin.events.left!("brief", "s1", "leave");
  a.admin.events.left!("brief", "s2", "closed");
  a.admin.events.joined!("brief", "s3");
  await eventually(() => a.events().length === 8, "every change announced");
  assert.deepEqual(a.events(), [
    { event: "channel.add", topic: "brief" },
    { event: "channel.join", topic: "brief", socket: "s1", node: "ordered", members: 1 },
    { event: "channel.join", topic: "brief", socket: "s2", node: "ordered", members: 2 },
    { event: "channel.leave", topic: "brief", socket: "s1", node: "ordered", members: 1 },
    { event: "channel.leave", topic: "brief", socket: "s2", node: "ordered", members: 0 },
    { event: "channel.remove", topic: "brief" },
    { event: "channel.add", topic: "brief" },
    { event: "channel.join", topic: "brief", socket: "s3", node: "ordered", members: 1 },
  ]);
  a.admin.events.left!("brief", "s3", "leave");
  a.admin.events.left!("admin", "admin1", "leave");
});
