import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { memberRoom, topicOfRoom, topicRoom } from "../src/naming.ts";

/** The sharded adapter's test for "this room is a socket id" (dynamic mode). */
const ADAPTER_SOCKET_ID_LENGTH = 20;

describe("room names", () => {
  it("are never as long as a socket id, for topics and members of any length", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40, unit: "grapheme" }), (name) => {
        assert.notEqual(topicRoom(name).length, ADAPTER_SOCKET_ID_LENGTH);
        assert.notEqual(memberRoom(name).length, ADAPTER_SOCKET_ID_LENGTH);
      }),
      { numRuns: 500 },
    );
    for (let length = 0; length <= 25; length++) {
      assert.notEqual(topicRoom("x".repeat(length)).length, ADAPTER_SOCKET_ID_LENGTH, `topic of ${length}`);
    }
  });

  it("map topics one-to-one and back, and never onto a member room", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }), (first, second) => {
        assert.equal(topicOfRoom(topicRoom(first)), first);
        assert.equal(topicRoom(first) === topicRoom(second), first === second);
        assert.notEqual(topicRoom(first), memberRoom(second));
        assert.equal(topicOfRoom(memberRoom(second)), undefined);
      }),
    );
    // Topics that look like the escaped form still round-trip.
    for (const topic of ["+:x", "t:x", "m:x", "x".repeat(18), "+:" + "x".repeat(16)]) {
      assert.equal(topicOfRoom(topicRoom(topic)), topic);
    }
  });
});
