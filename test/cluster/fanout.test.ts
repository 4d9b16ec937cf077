import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { v1, v2 } from "@switchboard/protocol";
import { startRedis, type RedisProcess } from "../support/redis.ts";
import {
  fakeMember,
  payloadsOf,
  settled,
  startNode,
  stopNode,
  counting,
  eventsOf,
  uniquePrefix,
  waitFor,
  type FakeMember,
  type TestNode,
} from "./support/nodes.ts";

const WAIT_MS = 5_000;

describe("cluster fan-out across three in-process nodes", () => {
  let redis: RedisProcess;
  let nodes: TestNode[] = [];
  let a: TestNode;
  let b: TestNode;
  let c: TestNode;

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await Promise.all(nodes.map(stopNode));
    await redis.stop();
  });

  async function freshNodes(): Promise<void> {
    await Promise.all(nodes.map(stopNode));
    const prefix = uniquePrefix();
    nodes = await Promise.all(["a", "b", "c"].map((id) => startNode(redis.url, id, prefix)));
    [a, b, c] = nodes as [TestNode, TestNode, TestNode];
  }

  function join(node: TestNode, member: FakeMember, topic: string): FakeMember {
    node.cluster.add(member);
    node.cluster.subscribe(member.id, topic);
    return member;
  }

  it("delivers every broadcast to every member on every node exactly once, in order per publisher", async () => {
    await freshNodes();
    const topic = "rooms:lobby";
    const countingV2 = counting(v2);
    const members = [
      join(a, fakeMember("a1", countingV2), topic),
      join(a, fakeMember("a2", countingV2), topic),
      join(b, fakeMember("b1", countingV2), topic),
      join(c, fakeMember("c1", countingV2), topic),
      join(c, fakeMember("c2", countingV2), topic),
    ];
    await settled(nodes);

    const perPublisher = 40;
    await Promise.all(
      [a, b, c].map(async (node) => {
        for (let seq = 0; seq < perPublisher; seq++) {
          await node.cluster.broadcast({ topic, event: "msg", payload: { from: node.id, seq } });
        }
      }),
    );
    const total = perPublisher * 3;
    await waitFor(() => members.every((m) => payloadsOf(m, "msg").length >= total), WAIT_MS, "all broadcasts");
    for (const member of members) {
      const received = payloadsOf(member, "msg") as Array<{ from: string; seq: number }>;
      assert.equal(received.length, total, `${member.id} got each broadcast once`);
      for (const publisher of ["a", "b", "c"]) {
        const sequence = received.filter((p) => p.from === publisher).map((p) => p.seq);
        assert.deepEqual(sequence, [...Array(perPublisher).keys()], `${member.id}: order of ${publisher}`);
      }
    }
  });

  it("broadcast_from skips only the sender, also for members on other nodes", async () => {
    await freshNodes();
    const topic = "rooms:from";
    const serializer = counting(v2);
    const sender = join(a, fakeMember("sender", serializer), topic);
    const others = [
      join(a, fakeMember("a-other", serializer), topic),
      join(b, fakeMember("b-other", serializer), topic),
      join(c, fakeMember("c-other", serializer), topic),
    ];
    await settled(nodes);

    await a.cluster.broadcast({ topic, event: "from-a", payload: {} }, { exceptMemberId: "sender" });
    // The sender's own node publishing on its behalf from elsewhere: b broadcasts "from" a's member.
    await b.cluster.broadcast({ topic, event: "from-b", payload: {} }, { exceptMemberId: "sender" });
    await waitFor(() => others.every((m) => payloadsOf(m, "from-a").length === 1 && payloadsOf(m, "from-b").length === 1), WAIT_MS, "others");
    // A later plain broadcast proves the sender was reachable all along, and fences the check.
    await c.cluster.broadcast({ topic, event: "fence", payload: {} });
    await waitFor(() => payloadsOf(sender, "fence").length === 1, WAIT_MS, "fence");
    assert.equal(payloadsOf(sender, "from-a").length, 0);
    assert.equal(payloadsOf(sender, "from-b").length, 0);
  });

  it("push and reply reach exactly one member on another node, encoded in its format", async () => {
    await freshNodes();
    // An 18-character id would make a 20-character room, an engine.io id is 20 characters.
    const TARGET = "target-0123456789x";
    const BYSTANDER = "Abcdefghij0123456789";
    const countingV1 = counting(v1);
    const countingV2 = counting(v2);
    const target = fakeMember(TARGET, countingV1);
    const bystander = fakeMember(BYSTANDER, countingV2);
    b.cluster.add(target);
    b.cluster.add(bystander);
    const local = fakeMember("local", countingV2);
    a.cluster.add(local);
    await settled(nodes);

    const pushed_ = { joinRef: "3", ref: null, topic: "t:x", event: "note", payload: { n: 1 } };
    const replied_ = { joinRef: "3", ref: "7", topic: "t:x", status: "ok" as const, response: { done: true } };
    const receivedElsewhere = [a, c].map((node) => node.cluster.stats.received);
    const pushed = await a.cluster.push(TARGET, pushed_);
    const replied = await c.cluster.reply(TARGET, replied_);
    assert.equal(pushed, true);
    assert.equal(replied, true);
    await waitFor(() => target.frames.length === 2, WAIT_MS, "push and reply");
    assert.deepEqual(target.frames, [v1.encodePush(pushed_), v1.encodeReply(replied_)]);
    assert.deepEqual([a, c].map((node) => node.cluster.stats.received), receivedElsewhere, "only the member's node gets them");
    assert.equal(countingV1.calls.push, 1);
    assert.equal(countingV1.calls.reply, 1);

    assert.equal(await a.cluster.push("local", { joinRef: null, ref: null, topic: "t:y", event: "hi", payload: {} }), true);
    assert.equal(local.frames.length, 1, "a local push is written at once");
    assert.equal(await a.cluster.push("nobody", { joinRef: null, ref: null, topic: "t:y", event: "hi", payload: {} }), false);
    b.cluster.remove(TARGET);
    await settled(nodes);
    assert.equal(await c.cluster.reply(TARGET, { joinRef: "3", ref: "8", topic: "t:x", status: "ok", response: {} }), false);
    assert.equal(bystander.frames.length, 0);
  });

  it("encodes a broadcast once per wire format per node and writes the same Frame object", async () => {
    await freshNodes();
    const topic = "rooms:encode";
    const countingV2 = counting(v2);
    const countingV1 = counting(v1);
    const onB = [fakeMember("b1", countingV2), fakeMember("b2", countingV2), fakeMember("b3", countingV2), fakeMember("b4", countingV1)].map((m) => join(b, m, topic));
    const onA = [fakeMember("a1", countingV2), fakeMember("a2", countingV2)].map((m) => join(a, m, topic));
    await settled(nodes);

    await a.cluster.broadcast({ topic, event: "once", payload: { big: "x".repeat(1000) } });
    await waitFor(() => onB.every((m) => m.frames.length === 1), WAIT_MS, "delivery on b");
    // Node a: one encode for its two v2 members; node b: one for v2, one for v1.
    assert.deepEqual(countingV2.calls.broadcast, 2);
    assert.deepEqual(countingV1.calls.broadcast, 1);
    assert.equal(onB[0]!.frames[0], onB[1]!.frames[0]);
    assert.equal(onB[1]!.frames[0], onB[2]!.frames[0]);
    assert.equal(onA[0]!.frames[0], onA[1]!.frames[0]);
    assert.notEqual(onB[3]!.frames[0], onB[0]!.frames[0]);
  });

  it("a node with no members of a topic receives no traffic for it, topic lengths 18 and 20 included", async () => {
    await freshNodes();
    const topics = ["rooms:lobby", "x".repeat(18), "y".repeat(20)];
    const serializer = counting(v2);
    const members = topics.flatMap((topic, index) => [
      join(a, fakeMember(`a${index}`, serializer), topic),
      join(b, fakeMember(`b${index}`, serializer), topic),
    ]);
    await settled(nodes);
    const receivedOnC = c.cluster.stats.received;
    const receivedOnB = b.cluster.stats.received;

    for (const topic of topics) {
      for (let seq = 0; seq < 20; seq++) await a.cluster.broadcast({ topic, event: "quiet", payload: seq });
    }
    await waitFor(() => members.every((m) => payloadsOf(m, "quiet").length === 20), WAIT_MS, "deliveries");
    assert.equal(c.cluster.stats.received - receivedOnC, 0, "node c has no members: no message reached it");
    assert.equal(b.cluster.stats.received - receivedOnB, 60, "node b got each broadcast once");
  });

  it("stops traffic to a node once its last member leaves the topic", async () => {
    await freshNodes();
    const topic = "rooms:leave";
    const serializer = counting(v2);
    join(a, fakeMember("a1", serializer), topic);
    const leaving = join(b, fakeMember("b1", serializer), topic);
    const other = join(b, fakeMember("b2", serializer), "rooms:other");
    await settled(nodes);
    await a.cluster.broadcast({ topic, event: "before", payload: 1 });
    await waitFor(() => leaving.frames.length === 1, WAIT_MS, "first broadcast");

    b.cluster.unsubscribe("b1", topic);
    b.cluster.remove("b2");
    await settled(nodes);
    const received = b.cluster.stats.received;
    await a.cluster.broadcast({ topic, event: "after", payload: 2 });
    await a.cluster.broadcast({ topic: "rooms:other", event: "after", payload: 2 });
    assert.equal(b.cluster.localMembers(topic), 0);
    // a's own subscription receives its echo: once that arrived, b's would have too.
    const echoes = a.cluster.stats.received;
    await a.cluster.broadcast({ topic, event: "fence", payload: 3 });
    await waitFor(() => a.cluster.stats.received > echoes, WAIT_MS, "echo on a");
    assert.equal(b.cluster.stats.received, received);
    assert.equal(leaving.frames.length, 1);
    assert.equal(other.frames.length, 0);
  });

  it("a member in several topics keeps the others when it leaves one, and removing it ends its topics and its own channel", async () => {
    await freshNodes();
    const serializer = counting(v2);
    const member = join(b, fakeMember("b1", serializer), "rooms:one");
    b.cluster.subscribe("b1", "rooms:two");
    b.cluster.subscribe("b1", "rooms:three");
    b.cluster.subscribe("b1", "rooms:two");
    const neighbour = join(b, fakeMember("b2", serializer), "rooms:three");
    await settled(nodes);
    assert.deepEqual(["rooms:one", "rooms:two", "rooms:three"].map((topic) => b.cluster.localMembers(topic)), [1, 1, 2]);

    b.cluster.unsubscribe("b1", "rooms:one");
    b.cluster.unsubscribe("b1", "rooms:one");
    await settled(nodes);
    for (const topic of ["rooms:one", "rooms:two", "rooms:three"]) await a.cluster.broadcast({ topic, event: "sent", payload: topic });
    await waitFor(() => payloadsOf(member, "sent").length === 2 && payloadsOf(neighbour, "sent").length === 1, WAIT_MS, "broadcasts");
    assert.deepEqual(payloadsOf(member, "sent"), ["rooms:two", "rooms:three"]);
    assert.equal(await a.cluster.push("b1", { joinRef: null, ref: null, topic: "rooms:two", event: "direct", payload: {} }), true);
    await waitFor(() => payloadsOf(member, "direct").length === 1, WAIT_MS, "push");

    // Room channels are `<prefix>cluster#/#<room>#`; only b has members, so these are b's.
    const roomChannels = async () => ((await a.redis.call("PUBSUB", "SHARDCHANNELS")) as string[]).map((channel) => channel.split("#/#")[1]).filter((room) => room !== "" && !/^[0-9a-f]+#$/.test(room!)).sort();
    assert.deepEqual(await roomChannels(), ["m:b1#", "m:b2#", "t:rooms:three#", "t:rooms:two#"]);
    b.cluster.remove("b1");
    await settled(nodes);
    assert.deepEqual(["rooms:two", "rooms:three"].map((topic) => b.cluster.localMembers(topic)), [0, 1]);
    assert.deepEqual(await roomChannels(), ["m:b2#", "t:rooms:three#"]);
    assert.equal(await a.cluster.push("b1", { joinRef: null, ref: null, topic: "rooms:two", event: "direct", payload: {} }), false);
  });

  it("carries binary payloads between nodes as bytes, for binary and text formats alike", async () => {
    await freshNodes();
    const topic = "rooms:bytes";
    const binaryMember = join(b, fakeMember("b1", counting(v2)), topic);
    const textMember = join(b, fakeMember("b2", counting(v1)), topic);
    const pushTarget = fakeMember("c1", counting(v2));
    c.cluster.add(pushTarget);
    await settled(nodes);
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    const push = { joinRef: "1", ref: null, topic, event: "bin", payload: bytes };

    await a.cluster.broadcast({ topic, event: "bin", payload: bytes });
    assert.equal(await a.cluster.push("c1", push), true);
    await waitFor(() => [binaryMember, textMember, pushTarget].every((m) => m.frames.length === 1), WAIT_MS, "frames");
    assert.deepEqual(binaryMember.frames[0], v2.encodeBroadcast({ topic, event: "bin", payload: bytes }));
    assert.ok(Buffer.isBuffer(binaryMember.frames[0]), "a V2 binary frame");
    assert.deepEqual(textMember.frames[0], v1.encodeBroadcast({ topic, event: "bin", payload: bytes }));
    assert.deepEqual(pushTarget.frames[0], v2.encodePush(push));
  });

  it("lets a member intercept a broadcast (handle_out) without keeping it from the others", async () => {
    await freshNodes();
    const topic = "rooms:intercept";
    const serializer = counting(v2);
    const seen: string[] = [];
    const interceptor = join(b, fakeMember("b1", serializer, (broadcast) => seen.push(broadcast.event) > 0 && broadcast.event === "secret"), topic);
    const plain = join(b, fakeMember("b2", serializer), topic);
    await settled(nodes);

    await a.cluster.broadcast({ topic, event: "secret", payload: {} });
    await a.cluster.broadcast({ topic, event: "open", payload: {} });
    await waitFor(() => plain.frames.length === 2, WAIT_MS, "plain member");
    assert.deepEqual(seen, ["secret", "open"]);
    assert.deepEqual(eventsOf(interceptor), ["open"]);
  });

  it("broadcast delivers locally before it publishes; localBroadcast reaches this node's members only", async () => {
    await freshNodes();
    const topic = "rooms:local";
    const serializer = counting(v2);
    const here = join(a, fakeMember("a1", serializer), topic);
    const sender = join(a, fakeMember("a2", serializer), topic);
    const there = join(b, fakeMember("b1", serializer), topic);
    await settled(nodes);
    const published = a.cluster.stats.published;

    const broadcasting = a.cluster.broadcast({ topic, event: "first", payload: {} });
    assert.deepEqual(eventsOf(here), ["first"], "broadcast writes to local members before publishing");
    await broadcasting;
    assert.equal(a.cluster.stats.published, published + 1);

    a.cluster.localBroadcast({ topic, event: "diff", payload: {} }, { exceptMemberId: "a2" });
    assert.deepEqual(eventsOf(here), ["first", "diff"], "written synchronously");
    assert.deepEqual(eventsOf(sender), ["first"]);
    assert.equal(a.cluster.stats.published, published + 1, "no publish for a local broadcast");
    await a.cluster.broadcast({ topic, event: "fence", payload: {} });
    await waitFor(() => eventsOf(there).includes("fence"), WAIT_MS, "fence");
    assert.deepEqual(eventsOf(there), ["first", "fence"]);
  });

  it("counts members per topic on this node and across the cluster", async () => {
    await freshNodes();
    const serializer = counting(v2);
    const onA = join(a, fakeMember("a1", serializer), "rooms:one");
    join(a, fakeMember("a2", serializer), "rooms:one");
    const onB = join(b, fakeMember("b1", serializer), "rooms:one");
    const onC = join(c, fakeMember("c1", serializer), "y".repeat(20));
    c.cluster.subscribe("c1", "rooms:two");
    await settled(nodes);

    assert.equal(a.cluster.localMembers("rooms:one"), 2);
    assert.equal(c.cluster.localMembers("rooms:one"), 0);
    assert.deepEqual(await b.cluster.topics(), [
      { topic: "rooms:one", members: 3, messages: 0 },
      { topic: "rooms:two", members: 1, messages: 0 },
      { topic: "y".repeat(20), members: 1, messages: 0 },
    ]);

    // Counted once per broadcast on each node with members, wherever it came from: c has none of
    // rooms:one, so only a and b count its two; the largest count is the topic's.
    for (const event of ["m1", "m2", "m3"]) await a.cluster.broadcast({ topic: "rooms:one", event, payload: {} });
    for (const event of ["m4", "m5"]) await c.cluster.broadcast({ topic: "rooms:one", event, payload: {} });
    await c.cluster.broadcast({ topic: "rooms:two", event: "m6", payload: {} });
    await waitFor(() => [onA, onB].every((member) => eventsOf(member).includes("m5")) && eventsOf(onC).includes("m6"), WAIT_MS, "every broadcast delivered");
    const messagesOf = async (topic: string) => (await b.cluster.topics()).find((count) => count.topic === topic)?.messages;
    assert.equal(await messagesOf("rooms:one"), 5);
    assert.equal(await messagesOf("rooms:two"), 1);
    assert.equal(await messagesOf("y".repeat(20)), 0);

    // A topic whose last member left here starts from zero when it has members again.
    c.cluster.unsubscribe("c1", "rooms:two");
    c.cluster.subscribe("c1", "rooms:two");
    assert.equal(await messagesOf("rooms:two"), 0);
  });
});
