import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseChannelList, parseLifecycle, parseNodeList } from "../src/admin/admin-wire.ts";

describe("admin channel payloads", () => {
  it("reads lifecycle events, including a dead node's sweep", () => {
    assert.deepEqual(parseLifecycle("channel.join", { topic: "rooms:a", socket: "s1", node: "n1", members: 2 }), {
      kind: "channel.join",
      topic: "rooms:a",
      node: "n1",
      socket: "s1",
      members: 2,
    });
    assert.deepEqual(parseLifecycle("channel.leave", { topic: "rooms:a", socket: null, node: "n2", members: 0, departed: 3 }), {
      kind: "channel.leave",
      topic: "rooms:a",
      node: "n2",
      socket: null,
      members: 0,
      departed: 3,
    });
    assert.deepEqual(parseLifecycle("channel.add", { topic: "rooms:a" }), { kind: "channel.add", topic: "rooms:a" });
  });

  it("refuses events without a topic and drops fields of the wrong type", () => {
    assert.equal(parseLifecycle("channel.add", {}), undefined);
    assert.equal(parseLifecycle("channel.add", null), undefined);
    assert.equal(parseLifecycle("channel.add", ["rooms:a"]), undefined);
    assert.deepEqual(parseLifecycle("channel.join", { topic: "t", members: -1, node: 7 }), { kind: "channel.join", topic: "t" });
  });

  it("reads channel.list, skipping malformed entries", () => {
    assert.deepEqual(
      parseChannelList({ channels: [{ topic: "a", members: 2 }, { topic: "b" }, "junk", { topic: "c", members: 1, messages: 9 }] }),
      [{ topic: "a", members: 2 }, { topic: "c", members: 1, messages: 9 }],
    );
    assert.equal(parseChannelList({ reason: "x" }), undefined);
  });

  it("reads node.list; lastSeen dates the reading, else the arrival", () => {
    assert.deepEqual(
      parseNodeList({ nodes: [{ id: "n1", address: "http://a", startedAt: 5, connections: 2, lastSeen: 90, deliveries: 7 }, { id: "n2" }, { nope: 1 }] }, 100),
      [
        { id: "n1", at: 90, address: "http://a", connections: 2, startedAt: 5, deliveries: 7 },
        { id: "n2", at: 100 },
      ],
    );
    assert.equal(parseNodeList(undefined, 0), undefined);
  });
});
