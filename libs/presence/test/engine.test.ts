import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryCluster, type MemoryNode } from "./memory-cluster.ts";

/** Key → sorted refs: a client's meta order follows diff arrival, which differs per node. */
function refsOf(state: Record<string, { metas: Array<{ phx_ref: string }> }>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(state).map(([key, { metas }]) => [key, metas.map((meta) => meta.phx_ref).sort()]));
}

function assertConverged(nodes: MemoryNode[], topic: string): void {
  const expected = nodes[0]!.engine.list(topic);
  for (const node of nodes) {
    assert.deepEqual(node.engine.list(topic), expected, `${node.engine.incarnation} lists ${topic} differently`);
    assert.deepEqual(refsOf(node.clientView(topic)), refsOf(expected), `${node.engine.incarnation}'s client view of ${topic} differs`);
  }
}

describe("presence engine, one node", () => {
  it("emits the join synchronously inside track and lists it with its phx_ref", () => {
    const cluster = new MemoryCluster();
    const node = cluster.add("a");
    const ref = node.engine.track("rooms:lobby", "socket-1", "alice", { online_at: "1" });
    assert.equal(node.diffs.length, 1);
    assert.deepEqual(node.diffs[0], {
      topic: "rooms:lobby",
      diff: { joins: { alice: { metas: [{ online_at: "1", phx_ref: ref }] } }, leaves: {} },
    });
    assert.deepEqual(node.engine.list("rooms:lobby"), { alice: { metas: [{ online_at: "1", phx_ref: ref }] } });
    assert.equal(node.engine.entries(), 1);
  });

  it("lists a one-member topic right after its join with the state its diff carried, and only while that entry is the topic's one", () => {
    const cluster = new MemoryCluster();
    const node = cluster.add("a");
    const other = cluster.add("b");
    node.engine.track("t", "s1", "alice", { online_at: "1" });
    assert.equal(node.engine.list("t"), node.diffs[0]!.diff.joins, "built once for the diff and the joiner's presence_state");

    const second = node.engine.track("t", "s2", "bob", {});
    assert.deepEqual(Object.keys(node.engine.list("t")), ["alice", "bob"], "a second member: the whole topic again");
    node.engine.untrack("t", "s2");
    const [aliceMeta] = node.engine.list("t").alice!.metas;
    assert.deepEqual(node.engine.list("t"), { alice: { metas: [aliceMeta] } });
    assert.notEqual(aliceMeta!.phx_ref, second);

    node.engine.track("u", "s1", "alice", {});
    node.engine.untrack("u", "s1");
    assert.deepEqual(node.engine.list("u"), {}, "its entry gone");
    node.engine.track("v", "s1", "alice", { tab: 1 });
    node.engine.update("v", "s1", { tab: 2 });
    assert.deepEqual(node.engine.list("v").alice!.metas.map((meta) => meta.tab), [2], "replaced by an update");

    node.engine.track("w", "s1", "alice", {});
    other.engine.track("w", "s9", "zed", {});
    cluster.settle();
    assert.deepEqual(Object.keys(node.engine.list("w")), ["alice", "zed"], "another node's member of the topic");
  });

  it("lists keys sorted and a multi-tab user's metas in join order", () => {
    const cluster = new MemoryCluster();
    const { engine } = cluster.add("a");
    const first = engine.track("t", "s1", "zed", { tab: 1 });
    engine.track("t", "s2", "amy", {});
    const second = engine.track("t", "s3", "zed", { tab: 2 });
    const state = engine.list("t");
    assert.deepEqual(Object.keys(state), ["amy", "zed"]);
    assert.deepEqual(state.zed!.metas, [{ tab: 1, phx_ref: first }, { tab: 2, phx_ref: second }]);
  });

  it("update gives a new phx_ref with phx_ref_prev, diffs join(new) + leave(old), keeps the meta's place", () => {
    const cluster = new MemoryCluster();
    const node = cluster.add("a");
    const old = node.engine.track("t", "s1", "bob", { status: "away" });
    node.engine.track("t", "s2", "bob", { status: "tab2" });
    node.diffs.length = 0;
    node.engine.update("t", "s1", { status: "busy" });
    const [metaAfter] = node.engine.list("t").bob!.metas;
    assert.notEqual(metaAfter!.phx_ref, old);
    assert.deepEqual(metaAfter, { status: "busy", phx_ref: metaAfter!.phx_ref, phx_ref_prev: old });
    assert.deepEqual(node.diffs, [
      { topic: "t", diff: { joins: { bob: { metas: [metaAfter] } }, leaves: { bob: { metas: [{ status: "away", phx_ref: old }] } } } },
    ]);
    node.engine.update("t", "nobody", {});
    assert.equal(node.diffs.length, 1, "updating an untracked member is a no-op");
  });

  it("tracking the same member again replaces its entry; untrackAll leaves every topic", () => {
    const cluster = new MemoryCluster();
    const node = cluster.add("a");
    node.engine.track("t1", "s1", "k", {});
    node.engine.track("t1", "s1", "k", { again: true });
    node.engine.track("t2", "s1", "k", {});
    assert.equal(node.engine.list("t1").k!.metas.length, 1);
    assert.equal(node.engine.entries(), 2);
    node.engine.untrackAll("s1");
    assert.deepEqual(node.engine.list("t1"), {});
    assert.deepEqual(node.engine.list("t2"), {});
    assert.equal(node.engine.entries(), 0);
    cluster.settle();
    assert.equal(node.engine.topicCount(), 0, "empty topics are freed");
  });

  it("batches a burst of local changes into one message per flush", () => {
    const cluster = new MemoryCluster();
    const node = cluster.add("a");
    cluster.add("b");
    for (let index = 0; index < 1_000; index += 1) node.engine.track(`t${index % 10}`, `s${index}`, `u${index}`, {});
    assert.equal(cluster.settle(), 1);
    assert.equal(cluster.nodes[1]!.engine.entries(), 1_000);
  });
});

describe("presence engine, several nodes", () => {
  it("converges list and every client view after joins, updates and leaves on all nodes", () => {
    const cluster = new MemoryCluster();
    const nodes = ["a", "b", "c"].map((name) => cluster.add(name));
    for (const [index, node] of nodes.entries()) {
      node.engine.track("t", `${index}-1`, `user${index}`, { n: 1 });
      node.engine.track("t", `${index}-2`, "shared", { node: index });
    }
    cluster.settle();
    assertConverged(nodes, "t");
    assert.equal(nodes[0]!.engine.list("t").shared!.metas.length, 3, "one meta per socket under one key");

    nodes[1]!.engine.update("t", "1-1", { n: 2 });
    nodes[2]!.engine.untrack("t", "2-2");
    nodes[0]!.engine.track("t", "0-3", "late", {});
    nodes[0]!.engine.untrack("t", "0-3");
    cluster.settle();
    assertConverged(nodes, "t");
    assert.equal(nodes[2]!.engine.list("t").user1!.metas[0]!.n, 2);
    assert.equal(nodes[2]!.engine.list("t").late, undefined);
  });

  it("gives a node started later the full state", () => {
    const cluster = new MemoryCluster();
    const a = cluster.add("a");
    const b = cluster.add("b");
    a.engine.track("t", "a1", "x", {});
    b.engine.track("t", "b1", "y", {});
    b.engine.track("u", "b2", "z", {});
    cluster.settle();
    const late = cluster.add("late");
    cluster.publish(late, late.engine.syncRequestToAll());
    cluster.settle();
    assertConverged([a, b, late], "t");
    assertConverged([a, b, late], "u");
  });

  it("resyncs a node that missed messages once the owner's sequence shows the gap", () => {
    const cluster = new MemoryCluster();
    const [a, b] = [cluster.add("a"), cluster.add("b")];
    a.engine.track("t", "a1", "x", {});
    cluster.settle();
    b.connected = false;
    a.engine.untrack("t", "a1");
    a.engine.track("t", "a2", "y", {});
    a.engine.track("v", "a3", "w", {});
    cluster.settle();
    b.connected = true;
    assert.notDeepEqual(b.engine.list("t"), a.engine.list("t"));
    cluster.publish(a, a.engine.heartbeat());
    cluster.settle();
    assertConverged([a, b], "t");
    assertConverged([a, b], "v");
  });

  it("resyncs across a rotation that was missed", () => {
    const cluster = new MemoryCluster();
    const [a, b] = [cluster.add("a"), cluster.add("b")];
    a.engine.track("t", "keep", "k", {});
    cluster.settle();
    b.connected = false;
    for (let index = 0; index < 2_500; index += 1) {
      a.engine.track("t", "churn", "c", { index });
      if (index % 100 === 0) cluster.settle();
    }
    cluster.settle();
    b.connected = true;
    cluster.publish(a, a.engine.heartbeat());
    cluster.settle();
    assertConverged([a, b], "t");
  });

  it("drops a dead incarnation's entries with leaves, and a goodbye does the same", () => {
    const cluster = new MemoryCluster();
    const [a, b, c] = [cluster.add("a"), cluster.add("b"), cluster.add("c")];
    a.engine.track("t", "a1", "x", {});
    b.engine.track("t", "b1", "y", {});
    cluster.settle();
    c.diffs.length = 0;
    c.engine.dropIncarnation(a.engine.incarnation);
    assert.deepEqual(Object.keys(c.engine.list("t")), ["y"]);
    assert.deepEqual(Object.keys(c.diffs[0]!.diff.leaves), ["x"]);
    cluster.publish(b, b.engine.bye());
    cluster.settle();
    assert.deepEqual(c.engine.list("t"), {});
    assert.equal(c.engine.entries(), 0);
    assert.equal(c.engine.topicCount(), 0);
    assert.deepEqual(refsOf(c.clientView("t")), {});
  });

  it("frees emptied topics on every node", () => {
    const cluster = new MemoryCluster();
    const nodes = [cluster.add("a"), cluster.add("b")];
    for (let index = 0; index < 50; index += 1) nodes[index % 2]!.engine.track(`t${index}`, `s${index}`, "k", {});
    cluster.settle();
    assert.equal(nodes[0]!.engine.topicCount(), 50);
    for (let index = 0; index < 50; index += 1) nodes[index % 2]!.engine.untrack(`t${index}`, `s${index}`);
    cluster.settle();
    for (const node of nodes) {
      assert.equal(node.engine.topicCount(), 0);
      assert.equal(node.engine.entries(), 0);
    }
  });

  it("replicas see a topic's last leave, and the topic's return, as diffs", () => {
    const cluster = new MemoryCluster();
    const [a, b] = [cluster.add("a"), cluster.add("b")];
    a.engine.track("t", "a1", "x", {});
    a.engine.track("u", "a2", "y", {});
    cluster.settle();
    b.diffs.length = 0;
    a.engine.untrack("t", "a1");
    cluster.settle();
    assert.deepEqual(b.diffs.map(({ topic, diff }) => [topic, Object.keys(diff.joins), Object.keys(diff.leaves)]), [["t", [], ["x"]]]);
    assert.deepEqual(b.engine.list("t"), {});
    assert.equal(b.engine.topicCount(), 1);
    a.engine.track("t", "a3", "z", {});
    cluster.settle();
    assertConverged([a, b], "t");
    assertConverged([a, b], "u");
  });

  it("ignores malformed messages without throwing", () => {
    const cluster = new MemoryCluster();
    const node = cluster.add("a");
    for (const bytes of [new Uint8Array(), Uint8Array.of(1), Uint8Array.of(9, 9, 9), Uint8Array.of(1, 1, 3, 97, 98, 99, 1, 1, 1)]) {
      assert.deepEqual(node.engine.receive(bytes), []);
    }
  });
});
