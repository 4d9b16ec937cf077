import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { startRedis, type RedisProcess } from "../support/redis.ts";
import { converged, refsOf, startNode, waitFor, type TestNode } from "./nodes.ts";

const CONVERGE_MS = 5_000;

describe("presence across three nodes on one Redis", () => {
  let redis: RedisProcess;
  let nodes: TestNode[] = [];
  let prefixCounter = 0;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);

  async function startCluster(count: number): Promise<{ prefix: string; nodes: TestNode[] }> {
    const prefix = `sbtest${++prefixCounter}:`;
    const started = Array.from({ length: count }, (_, index) => startNode(redis.url, prefix, `node${index}`));
    nodes.push(...started);
    await Promise.all(started.map((node) => node.presence.whenReady()));
    return { prefix, nodes: started };
  }

  before(async () => {
    redis = await startRedis();
    process.on("unhandledRejection", onUnhandled);
  });
  afterEach(async () => {
    await Promise.all(nodes.map((node) => node.close()));
    nodes = [];
  });
  after(async () => {
    process.off("unhandledRejection", onUnhandled);
    await redis.stop();
    assert.deepEqual(unhandled, [], "no unhandled rejections");
  });

  it("converges every node's list and every client's view after joins, updates and leaves on all nodes", async () => {
    const { nodes: cluster } = await startCluster(3);
    for (const node of cluster) node.watch("rooms:lobby");
    for (const [index, node] of cluster.entries()) {
      node.presence.track("rooms:lobby", `${node.name}-s1`, `user${index}`, { online_at: "1" });
      node.presence.track("rooms:lobby", `${node.name}-s2`, "multi-tab", { tab: index });
      node.presence.track("rooms:other", `${node.name}-s1`, `user${index}`, {});
    }
    await waitFor(() => converged(cluster, "rooms:lobby"), CONVERGE_MS, "joins to converge");
    const lobby = cluster[2]!.presence.list("rooms:lobby");
    assert.deepEqual(Object.keys(lobby), ["multi-tab", "user0", "user1", "user2"]);
    assert.equal(lobby["multi-tab"]!.metas.length, 3, "one meta per socket under one key");
    assert.equal(cluster[1]!.presence.entries(), 9);

    cluster[0]!.presence.update("rooms:lobby", "node0-s1", { online_at: "2", status: "away" });
    cluster[1]!.presence.untrack("rooms:lobby", "node1-s2");
    cluster[2]!.presence.untrackAll("node2-s1");
    await waitFor(() => converged(cluster, "rooms:lobby") && converged(cluster, "rooms:other"), CONVERGE_MS, "changes to converge");
    const [updated] = cluster[1]!.presence.list("rooms:lobby").user0!.metas;
    assert.equal(updated!.status, "away");
    assert.equal(typeof updated!.phx_ref_prev, "string");
    assert.equal(cluster[0]!.presence.list("rooms:lobby").user2, undefined);
    assert.equal(cluster[0]!.presence.list("rooms:lobby")["multi-tab"]!.metas.length, 2);
    assert.deepEqual(Object.keys(cluster[1]!.presence.list("rooms:other")), ["user0", "user1"]);
  });

  it("batches a burst of joins into a handful of Redis messages", async () => {
    const { prefix, nodes: cluster } = await startCluster(2);
    const monitor = cluster[1]!.redis.duplicate();
    // Heartbeats (a few dozen bytes each) also pass by; count only messages that carry entries.
    const HEARTBEAT_BYTES_AT_MOST = 100;
    let messages = 0;
    await monitor.subscribe(`${prefix}presence`);
    monitor.on("messageBuffer", (_channel: Buffer, message: Buffer) => {
      if (message.length > HEARTBEAT_BYTES_AT_MOST) messages += 1;
    });
    for (let index = 0; index < 1_000; index += 1) cluster[0]!.presence.track(`rooms:${index % 20}`, `s${index}`, `u${index}`, {});
    await waitFor(() => cluster[1]!.presence.entries() === 1_000, CONVERGE_MS, "1,000 joins to arrive");
    monitor.disconnect();
    assert.ok(messages <= 5, `${messages} Redis messages for 1,000 joins`);
  });

  it("gives a node started later the full state before it calls itself ready", async () => {
    const { prefix, nodes: cluster } = await startCluster(2);
    cluster[0]!.presence.track("rooms:a", "s1", "alice", {});
    cluster[1]!.presence.track("rooms:a", "s2", "bob", {});
    cluster[1]!.presence.track("rooms:b", "s3", "carol", {});
    await waitFor(() => converged(cluster, "rooms:a"), CONVERGE_MS, "first nodes to converge");
    const late = startNode(redis.url, prefix, "late");
    nodes.push(late);
    await late.presence.whenReady();
    assert.deepEqual(refsOf(late.presence.list("rooms:a")), refsOf(cluster[0]!.presence.list("rooms:a")));
    assert.deepEqual(Object.keys(late.presence.list("rooms:b")), ["carol"]);
  });

  it("removes a gracefully closed node's entries everywhere at once", async () => {
    const { nodes: cluster } = await startCluster(3);
    for (const node of cluster) node.watch("t");
    cluster[0]!.presence.track("t", "s1", "leaving", {});
    cluster[1]!.presence.track("t", "s2", "staying", {});
    await waitFor(() => cluster[2]!.presence.entries() === 2, CONVERGE_MS, "joins");
    await cluster[0]!.close();
    nodes = nodes.filter((node) => node !== cluster[0]);
    await waitFor(() => converged(cluster.slice(1), "t") && cluster[2]!.presence.entries() === 1, 1_000, "goodbye to remove entries");
    assert.deepEqual(Object.keys(cluster[2]!.clientView("t") ?? {}), ["staying"]);
  });

  it("converges again after a Redis restart, with changes made while Redis was down", async () => {
    const { nodes: cluster } = await startCluster(3);
    for (const node of cluster) node.watch("t");
    for (const node of cluster) node.presence.track("t", `${node.name}-before`, node.name, {});
    await waitFor(() => converged(cluster, "t") && cluster[0]!.presence.entries() === 3, CONVERGE_MS, "joins before the outage");

    const restarted = redis.restart(1_500);
    await waitFor(() => cluster.every((node) => node.redis.status !== "ready"), 2_000, "Redis to go away");
    cluster[0]!.presence.track("t", "node0-during", "during", {});
    cluster[1]!.presence.untrack("t", "node1-before");
    assert.deepEqual(Object.keys(cluster[0]!.presence.list("t")), ["during", "node0", "node1", "node2"], "local presence works without Redis");
    assert.equal(cluster[1]!.presence.list("t").node1, undefined);
    await restarted;

    await waitFor(() => converged(cluster, "t") && cluster[2]!.presence.entries() === 3, 10_000, "convergence after the restart");
    assert.deepEqual(Object.keys(cluster[2]!.presence.list("t")), ["during", "node0", "node2"]);
    // Liveness keys were lost with the data set; nobody may be declared dead once they are rewritten.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    assert.ok(converged(cluster, "t"));
    assert.equal(cluster[1]!.presence.entries(), 3);
  });

  it("keeps the replicated state flat under join/leave churn", async () => {
    const { nodes: cluster } = await startCluster(2);
    const [owner, replica] = cluster as [TestNode, TestNode];
    const live = 200;
    for (let index = 0; index < live; index += 1) owner.presence.track("t", `m${index}`, `u${index}`, {});
    let next = live;
    // The state saws between rotations: compare the largest size seen in each phase, not one sample.
    const churn = async (cycles: number) => {
      const largest = { owner: 0, replica: 0 };
      for (let cycle = 1; cycle <= cycles; cycle += 1, next += 1) {
        owner.presence.untrack("t", `m${next - live}`);
        owner.presence.track("t", `m${next}`, `u${next}`, { online_at: String(next) });
        if (cycle % 200 !== 0) continue;
        await new Promise((resolve) => setTimeout(resolve, 30));
        largest.owner = Math.max(largest.owner, owner.presence.encodedStateBytes());
        largest.replica = Math.max(largest.replica, replica.presence.encodedStateBytes());
      }
      await waitFor(() => converged(cluster, "t") && replica.presence.list("t")[`u${next - 1}`] !== undefined, CONVERGE_MS, "churn to converge");
      return largest;
    };
    const early = await churn(2_000);
    const late = await churn(6_000);
    assert.equal(replica.presence.entries(), live);
    assert.ok(late.owner <= early.owner * 1.5, `owner state grew from ${early.owner} to ${late.owner} bytes`);
    assert.ok(late.replica <= early.replica * 1.5, `replica state grew from ${early.replica} to ${late.replica} bytes`);
  });
});
