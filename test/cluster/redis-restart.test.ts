import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { v2 } from "@switchboard/protocol";
import { startRedis, type RedisProcess } from "../support/redis.ts";
import {
  fakeMember,
  payloadsOf,
  settled,
  sleep,
  startNode,
  stopNode,
  counting,
  uniquePrefix,
  waitFor,
  type TestNode,
} from "./support/nodes.ts";

const RECOVERY_MS = 10_000;
/** Long enough for the checks below to run while Redis is away. */
const OUTAGE_MS = 1_500;

describe("Redis restarted under a running cluster", () => {
  let redis: RedisProcess;
  let nodes: TestNode[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);

  before(async () => {
    process.on("unhandledRejection", onUnhandled);
    redis = await startRedis();
  });
  after(async () => {
    process.off("unhandledRejection", onUnhandled);
    await Promise.all(nodes.map(stopNode));
    await redis.stop();
  });

  it("keeps local delivery going, counts failed publishes, and resumes by itself", async () => {
    const prefix = uniquePrefix();
    nodes.push(...await Promise.all(["a", "b"].map((id) => startNode(redis.url, id, prefix, { heartbeatMs: 100, nodeTtlMs: 1_000 }))));
    const [a, b] = nodes.slice(-2) as [TestNode, TestNode];
    const serializer = counting(v2);
    const topic = "rooms:restart";
    const local = fakeMember("a1", serializer);
    const remote = fakeMember("b1", serializer);
    a.cluster.add(local);
    a.cluster.subscribe("a1", topic);
    b.cluster.add(remote);
    b.cluster.subscribe("b1", topic);
    await settled(nodes);

    let seq = 0;
    const sent: number[] = [];
    let streaming = true;
    // Not awaited one by one: a publish caught in flight by the outage resolves only when
    // ioredis has resent it after the reconnect, and must not hold up the ticks behind it.
    const publishes: Array<Promise<void>> = [];
    const stream = (async () => {
      while (streaming) {
        const n = seq++;
        sent.push(n);
        publishes.push(a.cluster.broadcast({ topic, event: "tick", payload: n }).then(() => undefined));
        await sleep(5);
      }
    })();
    await waitFor(() => payloadsOf(remote, "tick").length >= 10, RECOVERY_MS, "traffic before the restart");

    const restarted = redis.restart(OUTAGE_MS);
    await waitFor(() => !a.cluster.ready && !b.cluster.ready, RECOVERY_MS, "both nodes not ready");
    const duringOutage = payloadsOf(local, "tick").length;
    const errorsBefore = a.cluster.stats.publishErrors;
    // Membership changes while Redis is away must still take effect once it is back.
    const late = fakeMember("b2", serializer);
    b.cluster.add(late);
    b.cluster.subscribe("b2", "rooms:late");
    await waitFor(() => payloadsOf(local, "tick").length >= duringOutage + 10, RECOVERY_MS, "local delivery during the outage");
    assert.ok(a.cluster.stats.publishErrors > errorsBefore, "failed publishes are counted");
    const pushedDuringOutage = await a.cluster.push("b1", { joinRef: null, ref: null, topic, event: "p", payload: {} });
    assert.equal(pushedDuringOutage, false);
    await assert.rejects(a.cluster.topics());

    await restarted;
    await waitFor(() => a.cluster.ready && b.cluster.ready, RECOVERY_MS, "both nodes ready again");
    await settled(nodes);
    const resumedFrom = seq;
    await waitFor(() => (payloadsOf(remote, "tick") as number[]).some((n) => n >= resumedFrom + 10), RECOVERY_MS, "remote delivery resumed");
    streaming = false;
    await stream;
    await Promise.all(publishes);

    await a.cluster.broadcast({ topic: "rooms:late", event: "late", payload: 1 });
    await waitFor(() => late.frames.length === 1, RECOVERY_MS, "subscription made during the outage");

    // Exactly once and in order on the remote node, with a gap for the outage at most.
    const remoteTicks = payloadsOf(remote, "tick") as number[];
    assert.deepEqual(remoteTicks, [...new Set(remoteTicks)].sort((x, y) => x - y), "no duplicates, in order");
    assert.deepEqual(payloadsOf(local, "tick"), sent, "every tick reached the local member");
    assert.deepEqual(unhandled, [], "no unhandled rejection");
  });

  it("reports refused subscription changes instead of rejecting, and restores them when Redis is back", async () => {
    const prefix = uniquePrefix();
    // No retries: ioredis rejects commands queued while disconnected at the first failed reconnect.
    nodes.push(...await Promise.all(["c", "d"].map((id) => startNode(redis.url, id, prefix, { maxRetriesPerRequest: 0 }))));
    const [c, d] = nodes.slice(-2) as [TestNode, TestNode];
    const serializer = counting(v2);
    const restarted = redis.restart(OUTAGE_MS);
    await waitFor(() => !d.cluster.ready, RECOVERY_MS, "not ready");
    const member = fakeMember("d1", serializer);
    d.cluster.add(member);
    d.cluster.subscribe("d1", "rooms:refused");
    await waitFor(() => d.cluster.stats.subscriptionErrors > 0, RECOVERY_MS, "refused SSUBSCRIBE counted");
    await restarted;
    await waitFor(() => c.cluster.ready && d.cluster.ready, RECOVERY_MS, "ready again");
    await settled(nodes);
    assert.equal(await c.cluster.push("d1", { joinRef: null, ref: null, topic: "rooms:refused", event: "p", payload: 1 }), true);
    await c.cluster.broadcast({ topic: "rooms:refused", event: "b", payload: 2 });
    await waitFor(() => member.frames.length === 2, RECOVERY_MS, "push and broadcast after recovery");
    assert.deepEqual(unhandled, [], "no unhandled rejection");
  });

  it("closes a node at once while Redis is away", async () => {
    const prefix = uniquePrefix();
    const node = await startNode(redis.url, "closing", prefix);
    const restarted = redis.restart(OUTAGE_MS);
    await waitFor(() => !node.cluster.ready, RECOVERY_MS, "not ready");
    const serializer = counting(v2);
    for (let i = 0; i < 5; i++) {
      node.cluster.add(fakeMember(`m${i}`, serializer));
      node.cluster.subscribe(`m${i}`, `rooms:${i}`);
    }
    node.cluster.remove("m0");
    await node.cluster.broadcast({ topic: "rooms:1", event: "x", payload: {} });
    const closing = Date.now();
    await stopNode(node);
    assert.ok(Date.now() - closing < OUTAGE_MS / 3, "close does not wait for Redis");
    await restarted;
    assert.deepEqual(unhandled, [], "no unhandled rejection");
  });
});
