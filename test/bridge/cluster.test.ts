import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import { ACQUIRE_RETRY_MS, LEASE_TTL_MS } from "../../apps/bridge/src/lease.ts";
import { startRedis, type RedisProcess } from "../support/redis.ts";
import { eventually, startGateway, type GatewayProcess } from "../support/gateway.ts";
import { startBridge, type BridgeProcess } from "../support/bridge.ts";
import { pushResult } from "../clients/scenario.ts";
import { allStarted } from "./settle.ts";
import { StockClient, tokenFor, type JoinedChannel } from "./stock-client.ts";

/**
 * Two gateways and two bridge replicas on one Redis, stock phoenix 1.8 clients on both gateways:
 * every `to:` message reaches every client exactly once, the leader's death costs at most the
 * lease window and duplicates nothing, `system` ticks and `admin` events reach both nodes.
 */
const PUBLISH_EVERY_MS = 10;
/** Lease TTL plus one acquire retry, plus slack for process scheduling on a loaded CI machine. */
const FAILOVER_WINDOW_MS = LEASE_TTL_MS + ACQUIRE_RETRY_MS + 500;

describe("bridge replicas × gateways", () => {
  let redis: RedisProcess;
  let publisher: Redis;
  const gateways: GatewayProcess[] = [];
  const bridges: BridgeProcess[] = [];
  const clients: StockClient[] = [];

  before(async () => {
    redis = await startRedis();
    publisher = new Redis(redis.url);
    // Two at a time: four tsx processes compiling at once on a busy 2-core machine can miss the
    // 20 s health deadline.
    await allStarted(["gw-1", "gw-2"].map((nodeId) => startGateway({ redisUrl: redis.url, nodeId, env: { ENVELOPE_PATTERNS: "ask:*" } }).then((g) => gateways.push(g))));
    await allStarted(["br-1", "br-2"].map((nodeId) => startBridge({ redisUrl: redis.url, nodeId }).then((b) => bridges.push(b))));
    gateways.sort((a, b) => a.nodeId.localeCompare(b.nodeId));
    bridges.sort((a, b) => a.nodeId.localeCompare(b.nodeId));
    await eventually(async () => (await Promise.all(bridges.map((b) => b.status()))).filter((s) => s.leader).length === 1, "one leader", 5_000);
  });
  after(async () => {
    for (const client of clients) client.disconnect();
    publisher?.disconnect();
    await Promise.all([...gateways, ...bridges].map((p) => p.stop()));
    await redis?.stop();
  });

  const clientOn = (gateway: GatewayProcess) => {
    const client = new StockClient(gateway.wsUrl);
    clients.push(client);
    return client;
  };
  /** Two members per gateway on `topic`, each recording `events`. */
  const membersOf = (topic: string, claim: string, events: string[]) =>
    Promise.all(gateways.flatMap((gateway) => [0, 1].map(() => clientOn(gateway).joinOrThrow(topic, { token: tokenFor(claim) }, events))));
  /** Publishes `warm` until every member got one: from then on every node's subscription is live. */
  const warmUp = async (topic: string, members: JoinedChannel[]) => {
    await eventually(
      async () => {
        await publisher.publish(`to:${topic}:warm`, "{}");
        return members.every((m) => m.of("warm").length > 0);
      },
      "every member receives",
      5_000,
    );
  };
  const leaderIndex = async () => (await Promise.all(bridges.map((b) => b.status().catch(() => null)))).findIndex((s) => s?.leader);

  test("each to: message reaches each client on each gateway exactly once, in order", async () => {
    const members = await membersOf("feed:1", "feed:*", ["warm", "msg"]);
    await warmUp("feed:1", members);
    const count = 200;
    for (let seq = 0; seq < count; seq++) await publisher.publish("to:feed:1:msg", JSON.stringify({ seq }));
    await eventually(() => members.every((m) => m.of("msg").length >= count), "all messages delivered", 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const expected = Array.from({ length: count }, (_, seq) => ({ seq }));
    for (const member of members) assert.deepEqual(member.of("msg"), expected);
    const statuses = await Promise.all(bridges.map((b) => b.status()));
    assert.equal(statuses.reduce((sum, s) => sum + s.forwarded, 0), statuses.find((s) => s.leader)!.forwarded, "only the leader forwarded");
  });

  test("envelope mode: a backend reply reaches the pushing client on the other gateway, and only it", async () => {
    const spy = new Redis(redis.url);
    try {
      const envelopes: Array<Record<string, unknown>> = [];
      spy.on("pmessage", (_pattern: string, _channel: string, data: string) => envelopes.push(JSON.parse(data)));
      await spy.psubscribe("from:ask:*");
      const [asker, ...others] = await Promise.all(
        [gateways[1]!, gateways[0]!, gateways[1]!].map((g) => clientOn(g).joinOrThrow("ask:1", { token: tokenFor("ask:*") }, ["phx_reply"])),
      );
      for (const other of others) other.received.length = 0; // their own join replies
      const push = asker!.channel.push("question", { q: 1 }, 3_000);
      const answered = pushResult(push);
      await eventually(() => envelopes.length === 1, "the envelope is published");
      const envelope = envelopes[0]!;
      assert.equal(envelope.node, "gw-2");
      assert.equal(envelope.ref, (push as unknown as { ref: string }).ref);
      await publisher.publish("reply:ask:1", JSON.stringify({ socket: envelope.socket, ref: envelope.ref, join_ref: envelope.join_ref, response: { a: 1 } }));
      assert.deepEqual(await answered, { status: "ok", response: { a: 1 } });
      await new Promise((resolve) => setTimeout(resolve, 200));
      for (const other of others) assert.deepEqual(other.received, []);
    } finally {
      spy.disconnect();
    }
  });

  test("system datetime ticks about once a second on both gateways, one counter", async () => {
    const members = await Promise.all(gateways.map((g) => clientOn(g).joinOrThrow("system", { token: tokenFor("system") }, ["datetime"])));
    await eventually(() => members.every((m) => m.of("datetime").length >= 4), "four ticks on each node", 8_000);
    const byNode = members.map((m) => m.received.filter((r) => r.event === "datetime"));
    for (const ticks of byNode) {
      const counters = ticks.map((t) => (t.payload as { response: { counter: number } }).response.counter);
      for (let i = 1; i < counters.length; i++) assert.equal(counters[i], counters[i - 1]! + 1, `consecutive counters ${counters}`);
      for (let i = 1; i < ticks.length; i++) {
        const interval = ticks[i]!.at - ticks[i - 1]!.at;
        assert.ok(interval > 500 && interval < 1_500, `tick interval ${interval} ms (about one per second, with slack for a loaded machine)`);
      }
      const payload = ticks[0]!.payload as { status: string; response: { datetime: string; counter: number } };
      assert.equal(payload.status, "ok");
      assert.match(payload.response.datetime, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
      assert.ok(Math.abs(Date.parse(payload.response.datetime) - ticks[0]!.at) < 1_000);
    }
    const counterSets = byNode.map((ticks) => new Set(ticks.map((t) => (t.payload as { response: { counter: number } }).response.counter)));
    assert.ok([...counterSets[0]!].filter((c) => counterSets[1]!.has(c)).length >= 3, "both nodes see the same ticks");
  });

  test("admin: add/join/leave/remove for members on either node; channel.list; admin token required", async () => {
    const events = ["channel.add", "channel.join", "channel.leave", "channel.remove"];
    const refused = await clientOn(gateways[0]!).join("admin", { token: tokenFor("room:*") });
    assert.deepEqual({ status: refused.status, response: refused.response }, { status: "error", response: { reason: "token_channel_mismatch" } });
    const admins = await Promise.all(gateways.map((g) => clientOn(g).joinOrThrow("admin", { token: tokenFor("admin", "root") }, events)));
    const topicEvents = (admin: JoinedChannel) =>
      admin.received
        .filter((r) => (r.payload as { topic: string }).topic === "room:adm")
        .map((r) => {
          const { topic: _topic, socket: _socket, ...rest } = r.payload as Record<string, unknown>;
          return { event: r.event, ...rest };
        });

    const x = await clientOn(gateways[1]!).joinOrThrow("room:adm", { token: tokenFor("room:*") });
    // Announcements are made after the join reply; a node delivers its own to its admin client
    // at once while the other node's still travels through Redis, so each is awaited in turn.
    await eventually(() => admins.every((a) => topicEvents(a).length === 2), "add + first join on both admin clients");
    const y = await clientOn(gateways[0]!).joinOrThrow("room:adm", { token: tokenFor("room:*") });
    await eventually(() => admins.every((a) => topicEvents(a).length === 3), "add + two joins on both admin clients");
    const list = await pushResult(admins[0]!.channel.push("channel.list", {}, 3_000));
    assert.equal(list.status, "ok");
    const listed = (list.response as { channels: Array<{ topic: string; members: number; messages?: number }> }).channels.find((c) => c.topic === "room:adm");
    // messages: what the topic's room received so far (here presence diffs of the joins, at least the joiner's own).
    const { messages, ...counted } = listed ?? { topic: "", members: 0 };
    assert.deepEqual(counted, { topic: "room:adm", members: 2 });
    assert.ok(Number.isInteger(messages) && messages! >= 1, `messages counted: ${messages}`);
    // phoenix.js resolves leave() locally at once, so each leave is awaited on the admin feed.
    y.channel.leave();
    await eventually(() => admins.every((a) => topicEvents(a).length === 4), "first leave on both admin clients");
    x.channel.leave();
    await eventually(() => admins.every((a) => topicEvents(a).length === 6), "second leave + remove on both admin clients");
    for (const admin of admins) {
      assert.deepEqual(topicEvents(admin), [
        { event: "channel.add" },
        { event: "channel.join", node: "gw-2", members: 1 },
        { event: "channel.join", node: "gw-1", members: 2 },
        { event: "channel.leave", node: "gw-1", members: 1 },
        { event: "channel.leave", node: "gw-2", members: 0 },
        { event: "channel.remove" },
      ]);
    }
    const after = await pushResult(admins[1]!.channel.push("channel.list", {}, 3_000));
    assert.ok(!(after.response as { channels: Array<{ topic: string }> }).channels.some((c) => c.topic === "room:adm"));
  });

  /**
   * Publishes a numbered message every PUBLISH_EVERY_MS for `durationMs`, calls `trigger` after
   * 500 ms, and checks what every member got: nothing twice, in order, the same messages missing
   * on every member (the loss is the bridge's failover, not delivery) and in one contiguous run.
   */
  const publishThrough = async (topic: string, members: JoinedChannel[], durationMs: number, trigger: () => void) => {
    const sentAt: number[] = [];
    let triggeredAt = 0;
    const total = Math.ceil(durationMs / PUBLISH_EVERY_MS);
    for (let seq = 0; seq < total; seq++) {
      if (seq === Math.floor(500 / PUBLISH_EVERY_MS)) {
        trigger();
        triggeredAt = Date.now();
      }
      sentAt.push(Date.now());
      await publisher.publish(`to:${topic}:seq`, JSON.stringify({ seq }));
      await new Promise((resolve) => setTimeout(resolve, PUBLISH_EVERY_MS));
    }
    const seqsOf = (member: JoinedChannel) => member.of("seq").map((p) => (p as { seq: number }).seq);
    await eventually(() => members.every((m) => seqsOf(m).includes(total - 1)), "the last message arrives", 5_000);
    await new Promise((resolve) => setTimeout(resolve, 300));

    let lost: number[] = [];
    members.forEach((member, index) => {
      const seqs = seqsOf(member);
      assert.equal(new Set(seqs).size, seqs.length, "no message delivered twice");
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), "in order");
      const missing = Array.from({ length: total }, (_, seq) => seq).filter((seq) => !seqs.includes(seq));
      if (index === 0) lost = missing;
      assert.deepEqual(missing, lost, "every member misses the same messages");
    });
    if (lost.length > 0) assert.deepEqual(lost, Array.from({ length: lost.length }, (_, i) => lost[0]! + i), "one contiguous gap");
    const gapMs = lost.length > 0 ? sentAt[lost.at(-1)!]! - sentAt[lost[0]!]! + PUBLISH_EVERY_MS : 0;
    const firstAfter = members[0]!.received.find((r) => r.event === "seq" && r.at > triggeredAt && !lost.includes((r.payload as { seq: number }).seq));
    return { lost: lost.length, gapMs, firstDeliveryMs: firstAfter ? firstAfter.at - triggeredAt : undefined };
  };

  test("SIGKILL of the leader: the standby takes over within the lease window, nothing duplicated", async (t) => {
    const members = await membersOf("fail:1", "fail:*", ["warm", "seq"]);
    await warmUp("fail:1", members);
    const oldLeader = await leaderIndex();
    assert.ok(oldLeader >= 0);
    const standby = bridges[1 - oldLeader]!;
    const result = await publishThrough("fail:1", members, FAILOVER_WINDOW_MS + 2_000, () => bridges[oldLeader]!.kill("SIGKILL"));
    t.diagnostic(`SIGKILL failover: ${result.lost} messages lost over ${result.gapMs} ms (window ${FAILOVER_WINDOW_MS} ms); kill → first delivery ${result.firstDeliveryMs} ms`);
    assert.equal((await standby.status()).leader, true, "the standby leads");
    assert.ok(result.gapMs <= FAILOVER_WINDOW_MS, `gap ${result.gapMs} ms exceeds the documented window ${FAILOVER_WINDOW_MS} ms`);
  });

  test("SIGTERM of the leader: the lease is released and a standby takes over at once; exit 0", async (t) => {
    bridges.push(await startBridge({ redisUrl: redis.url, nodeId: "br-3" }));
    const leader = bridges[await leaderIndex()]!;
    const standby = bridges[2]!;
    assert.notEqual(leader, standby);
    const members = await membersOf("fail:2", "fail:*", ["warm", "seq"]);
    await warmUp("fail:2", members);
    let exitCode: Promise<number | null> | undefined;
    const result = await publishThrough("fail:2", members, 1_500, () => (exitCode = leader.stop("SIGTERM")));
    t.diagnostic(`SIGTERM handover: ${result.lost} messages lost over ${result.gapMs} ms`);
    assert.equal(await exitCode, 0);
    assert.equal((await standby.status()).leader, true);
    assert.ok(result.gapMs <= ACQUIRE_RETRY_MS, `graceful handover gap ${result.gapMs} ms`);
  });
});
