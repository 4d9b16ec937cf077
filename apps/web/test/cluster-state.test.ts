import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ClusterState } from "../src/admin/cluster-state.ts";

describe("ClusterState", () => {
  it("turns two counter readings of a node into a per-second rate", () => {
    const state = new ClusterState();
    state.observeNode({ id: "a", at: 1_000, deliveries: 100, connections: 3 });
    assert.equal(state.nodes.get("a")?.deliveriesPerSecond, undefined, "one reading has no rate");
    state.observeNode({ id: "a", at: 3_000, deliveries: 160 });
    assert.equal(state.nodes.get("a")?.deliveriesPerSecond, 30);
    assert.equal(state.nodes.get("a")?.connections, 3, "a reading without connections keeps the last known");
  });

  it("keeps the fresher connection count when sources disagree", () => {
    const state = new ClusterState();
    state.observeNode({ id: "a", at: 5_000, connections: 4 });
    state.observeNode({ id: "a", at: 3_000, connections: 0, address: "http://a" });
    assert.equal(state.nodes.get("a")?.connections, 4);
    assert.equal(state.nodes.get("a")?.address, "http://a");
    state.observeNode({ id: "a", at: 6_000, connections: 1 });
    assert.equal(state.nodes.get("a")?.connections, 1);
  });

  it("starts a counter over after a restart and ignores readings that are not newer", () => {
    const state = new ClusterState();
    state.observeNode({ id: "a", at: 1_000, deliveries: 500 });
    state.observeNode({ id: "a", at: 2_000, deliveries: 600 });
    state.observeNode({ id: "a", at: 2_000, deliveries: 9_999 });
    assert.equal(state.nodes.get("a")?.deliveriesPerSecond, 100);
    state.observeNode({ id: "a", at: 3_000, deliveries: 10 });
    assert.equal(state.nodes.get("a")?.deliveriesPerSecond, 100, "a counter that went down gives no rate");
    state.observeNode({ id: "a", at: 4_000, deliveries: 30 });
    assert.equal(state.nodes.get("a")?.deliveriesPerSecond, 20);
  });

  it("sums connections and rates over nodes, members over topics", () => {
    const state = new ClusterState();
    for (const [id, connections] of [["a", 2], ["b", 5]] as const) {
      state.observeNode({ id, at: 0, deliveries: 0, connections });
      state.observeNode({ id, at: 1_000, deliveries: connections * 10 });
    }
    state.noticeNode("c", 1_000);
    state.replaceTopics([{ topic: "rooms:x", members: 3 }, { topic: "rooms:y", members: 1 }], 1_000);
    assert.deepEqual(state.totals(), { connections: 7, deliveriesPerSecond: 70, members: 4 });
    assert.equal(state.nodes.size, 3);
  });

  it("replacing the topic list drops topics that are gone and rates message counters", () => {
    const state = new ClusterState();
    state.replaceTopics([{ topic: "a", members: 1, messages: 10 }, { topic: "b", members: 2 }], 0);
    state.replaceTopics([{ topic: "a", members: 4, messages: 40 }], 2_000);
    assert.deepEqual([...state.topics.keys()], ["a"]);
    assert.equal(state.topics.get("a")?.members, 4);
    assert.equal(state.topics.get("a")?.messagesPerSecond, 15);
  });

  it("forgets nodes nothing vouched for recently", () => {
    const state = new ClusterState();
    state.noticeNode("old", 0);
    state.noticeNode("fresh", 25_000);
    state.forgetSilentNodes(40_000);
    assert.deepEqual([...state.nodes.keys()], ["fresh"]);
  });
});
