import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { fromWire, hueOf, toWire } from "../src/chat/messages.ts";

describe("chat message wire format", () => {
  it("round-trips a message", () => {
    const message = { user: "alice", body: "hi", sentAt: 1_700_000_000_000 };
    assert.deepEqual(fromWire(JSON.parse(JSON.stringify(toWire(message)))), message);
  });

  it("refuses payloads without a user and body, cuts long bodies", () => {
    assert.equal(fromWire({ user: "a" }), undefined);
    assert.equal(fromWire({ body: "b" }), undefined);
    assert.equal(fromWire("text"), undefined);
    assert.equal(fromWire({ user: "a", body: "x".repeat(10_000), sent_at: 1 })?.body.length, 2_000);
    assert.equal(typeof fromWire({ user: "a", body: "b", sent_at: "yesterday" })?.sentAt, "number");
  });

  it("gives each name one stable hue", () => {
    assert.equal(hueOf("alice"), hueOf("alice"));
    assert.ok(hueOf("alice") >= 0 && hueOf("alice") < 360);
    assert.notEqual(hueOf("alice"), hueOf("bob"));
  });
});
