import assert from "node:assert/strict";
import { describe, it } from "node:test";
// The msgpack codec the pinned redis-adapter encodes messages with.
import { decode, encode } from "notepack.io";
import { isRawJson, parseRawJson } from "@switchboard/protocol";
import { envelopeOf, packetOf, type Envelope } from "../src/envelope.ts";
import { mergeTopicCounts } from "../src/topics.ts";

describe("envelopes between nodes", () => {
  const envelopes: Envelope[] = [
    { kind: "broadcast", broadcast: { topic: "rooms:a", event: "msg", payload: { text: "hi", n: [1, null] } } },
    { kind: "push", message: { joinRef: "1", ref: null, topic: "rooms:a", event: "note", payload: {} } },
    { kind: "reply", reply: { joinRef: null, ref: "9", topic: "rooms:a", status: "error", response: { reason: "x" } } },
  ];

  it("survive the JSON trip the adapter gives them", () => {
    for (const envelope of envelopes) {
      assert.deepEqual(envelopeOf(JSON.parse(JSON.stringify(packetOf(envelope)))), envelope);
    }
  });

  it("carry a RawJson payload as its bytes through msgpack, text unchanged, history id kept", () => {
    const text = '{ "a" : [1, "é"] }';
    const payload = parseRawJson(Buffer.from(text))!;
    for (const historyId of [undefined, "1-0"]) {
      const packet = packetOf({ kind: "broadcast", broadcast: { topic: "t", event: "e", payload }, historyId });
      assert.ok(Buffer.isBuffer(packet.data[3]), "the payload slot holds bytes, so the adapter uses msgpack");
      const decoded = envelopeOf(decode(encode(packet)));
      assert.ok(decoded?.kind === "broadcast");
      assert.equal(decoded.historyId, historyId);
      assert.ok(isRawJson(decoded.broadcast.payload));
      assert.equal(decoded.broadcast.payload.text, text);
    }
  });

  it("send pushes and replies with a RawJson payload as its value", () => {
    const payload = parseRawJson(Buffer.from('{"ok":true}'))!;
    const decoded = envelopeOf(JSON.parse(JSON.stringify(packetOf({ kind: "push", message: { joinRef: "1", ref: null, topic: "t", event: "e", payload } }))));
    assert.deepEqual(decoded, { kind: "push", message: { joinRef: "1", ref: null, topic: "t", event: "e", payload: { ok: true } } });
  });

  it("turn msgpack's ArrayBuffer bytes back into a Uint8Array", () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const decoded = envelopeOf({ type: 2, data: ["b", "t", "e", bytes.buffer] });
    assert.ok(decoded?.kind === "broadcast");
    assert.ok(decoded.broadcast.payload instanceof Uint8Array);
    assert.deepEqual([...decoded.broadcast.payload], [1, 2, 3]);
  });

  it("refuse shapes this version does not know", () => {
    for (const packet of [
      null,
      "b",
      { data: "b" },
      { data: ["x", "t", "e", 1] },
      { data: ["b", "", "e", 1] },
      { data: ["b", "t", 7, 1] },
      { data: ["p", 1, null, "t", "e", {}] },
      { data: ["r", null, null, "t", "maybe", {}] },
      { data: ["p", null, null, "t", "e"] },
      { data: ["j", "t", "e", "not bytes"] },
      { data: ["j", "t", "e", Buffer.from("[1]"), 5] },
    ]) {
      assert.equal(envelopeOf(packet), undefined, JSON.stringify(packet));
    }
  });
});

describe("cluster-wide topic counts", () => {
  it("add up per topic over nodes, sorted, skipping answers of unknown shape", () => {
    const merged = mergeTopicCounts([
      [{ topic: "b", members: 2 }, { topic: "a", members: 1 }],
      [{ topic: "b", members: 3 }, { topic: 5, members: 1 }, { topic: "c", members: 1, messages: "7" }],
      "garbage",
      null,
    ]);
    assert.deepEqual(merged, [
      { topic: "a", members: 1 },
      { topic: "b", members: 5 },
    ]);
  });

  it("keep the largest message count of a topic: each node with members saw every broadcast since it had them", () => {
    const merged = mergeTopicCounts([
      [{ topic: "a", members: 2, messages: 40 }, { topic: "b", members: 1, messages: 0 }],
      [{ topic: "a", members: 1, messages: 12 }, { topic: "b", members: 1 }],
      [{ topic: "a", members: 1 }],
    ]);
    assert.deepEqual(merged, [
      { topic: "a", members: 4, messages: 40 },
      { topic: "b", members: 2, messages: 0 },
    ]);
  });
});
