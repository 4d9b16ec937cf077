import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import { startRedis, type RedisProcess } from "../support/redis.ts";
import { eventually, startGateways, type GatewayProcess } from "../support/gateway.ts";
import { RawClient } from "../support/raw-client.ts";

/**
 * Three real gateway processes on one Redis: every broadcast reaches every member once, in
 * publisher order, wherever the members and the publisher are; a node with no members of a topic
 * gets none of its traffic; a SIGKILLed node or a Redis restart takes nobody else down.
 */
interface Member {
  client: RawClient;
  node: number;
  received: Array<[string, unknown]>;
  replies: unknown[][];
}

async function join(gateway: GatewayProcess, node: number, topic: string, user: string): Promise<Member> {
  const client = await RawClient.connect(`${gateway.wsUrl}/socket/websocket?vsn=2.0.0`);
  const member: Member = { client, node, received: [], replies: [] };
  client.ws.on("message", (data: Buffer) => {
    const frame = JSON.parse(data.toString()) as unknown[];
    if (frame[3] === "phx_reply") member.replies.push(frame);
    else if (frame[0] === null && frame[3] !== "presence_diff") member.received.push([frame[3] as string, frame[4]]);
  });
  client.send(["1", "1", topic, "phx_join", { user }]);
  await eventually(() => member.replies.length === 1, `${user} joined ${topic} on node ${node}`);
  return member;
}

describe("three gateway nodes", () => {
  let redis: RedisProcess;
  let nodes: GatewayProcess[];
  const members: Member[] = [];

  before(async () => {
    redis = await startRedis();
    nodes = await startGateways(3, { redisUrl: redis.url, nodeId: "fanout" });
  });
  after(async () => {
    for (const member of members) member.client.ws.terminate();
    await Promise.all(nodes.map((node) => node.stop()));
    await redis?.stop();
  });

  const spread = async (topic: string, count: number, onNodes = [0, 1, 2]) => {
    const joined: Member[] = [];
    for (let i = 0; i < count; i++) {
      const node = onNodes[i % onNodes.length]!;
      joined.push(await join(nodes[node]!, node, topic, `u${i}`));
    }
    members.push(...joined);
    return joined;
  };

  test("handler broadcast: every member on every node gets each message once, in order", async () => {
    const room = await spread("rooms:spread", 6);
    const publisher = room[0]!;
    for (let i = 0; i < 50; i++) publisher.client.send(["1", `m${i}`, "rooms:spread", "new_msg", { i }]);
    const expected = Array.from({ length: 50 }, (_, i) => ["new_msg", { i }]);
    await eventually(() => room.every((m) => m.received.length >= 50), "all 50 messages everywhere");
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const member of room) assert.deepEqual(member.received, expected, `node ${member.node} member`);
    assert.equal(publisher.replies.length, 51, "the publisher got its 50 replies (plus the join reply)");
    for (const other of room.slice(1)) assert.equal(other.replies.length, 1, "replies reach the pushing socket only");
  });

  test("broadcast_from skips only the sender, across nodes", async () => {
    const room = await spread("rooms:from", 6);
    room[1]!.client.send(["1", "s1", "rooms:from", "shout_from", { x: 1 }]);
    const others = room.filter((_, i) => i !== 1);
    await eventually(() => others.every((m) => m.received.length === 1), "everyone else got shout_from");
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(room[1]!.received, []);
  });

  test("a 20-character topic (the adapter's socket-id length) is delivered like any other", async () => {
    const topic = "rooms:twenty-chars!!";
    assert.equal(topic.length, 20);
    const room = await spread(topic, 3);
    room[2]!.client.send(["1", "t", topic, "new_msg", { ok: true }]);
    await eventually(() => room.every((m) => m.received.length === 1), "all three got it");
  });

  test("SIGKILL of one node: the other nodes keep delivering, with no duplicates", async () => {
    const room = await spread("rooms:kill", 6);
    const survivors = room.filter((m) => m.node !== 2);
    const publisher = survivors[0]!;
    let sent = 0;
    const timer = setInterval(() => publisher.client.send(["1", `k${sent}`, "rooms:kill", "new_msg", { i: sent++ }]), 10);
    await new Promise((resolve) => setTimeout(resolve, 300));
    nodes[2]!.kill("SIGKILL");
    await nodes[2]!.exited;
    await new Promise((resolve) => setTimeout(resolve, 500));
    clearInterval(timer);
    await eventually(() => survivors.every((m) => m.received.length === sent), `survivors got all ${sent}`);
    for (const member of survivors) {
      assert.deepEqual(
        member.received.map(([, p]) => (p as { i: number }).i),
        Array.from({ length: sent }, (_, i) => i),
      );
    }
    assert.equal(nodes[0]!.child.exitCode, null);
    assert.equal(nodes[1]!.child.exitCode, null);
  });

  test("Redis restart mid-stream: no process exits, delivery resumes by itself", async () => {
    const alive = nodes.slice(0, 2);
    const room = [await join(alive[0]!, 0, "rooms:redis", "a"), await join(alive[1]!, 1, "rooms:redis", "b")];
    members.push(...room);
    await redis.restart(300);
    // Wait for readiness on both nodes, then publish again.
    await eventually(
      async () => (await Promise.all(alive.map((n) => fetch(`${n.url}/readyz`).then((r) => r.status)))).every((s) => s === 200),
      "both nodes ready again",
      15_000,
    );
    let attempt = 0;
    await eventually(
      () => {
        room[0]!.client.send(["1", `r${attempt++}`, "rooms:redis", "new_msg", { after: "restart" }]);
        return room[1]!.received.length > 0;
      },
      "a message crosses nodes after the restart",
      10_000,
    );
    for (const node of alive) assert.equal(node.child.exitCode, null, node.output());
    assert.doesNotMatch(alive.map((n) => n.output()).join("\n"), /unhandled rejection|uncaught exception/i);
  });

  test("a node with no members of a topic receives none of its traffic", async () => {
    const probe = new Redis(redis.url);
    try {
      const room = await spread("rooms:scoped", 2, [0, 1]);
      // Node 2 is gone; nodes 0 and 1 have members. Count sharded-channel subscribers: only the
      // nodes with members may listen to the topic's channel.
      const channels = (await probe.call("PUBSUB", "SHARDCHANNELS", "*scoped*")) as string[];
      assert.ok(channels.length > 0, "the topic has a sharded channel");
      const counts = (await probe.call("PUBSUB", "SHARDNUMSUB", ...channels)) as Array<string | number>;
      assert.equal(Number(counts[1]), 2, `two subscribers (nodes with members): ${JSON.stringify(counts)}`);
      room[0]!.client.close();
      await eventually(async () => {
        const after = (await probe.call("PUBSUB", "SHARDNUMSUB", ...channels)) as Array<string | number>;
        return Number(after[1]) === 1;
      }, "the node whose last member left unsubscribed");
    } finally {
      probe.disconnect();
    }
  });
});
