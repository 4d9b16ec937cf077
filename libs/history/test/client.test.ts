import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { isAfterHistoryId, isHistoryId, trackLastSeen } from "@switchboard/history";
import type { MessageHook } from "@switchboard/history";

/** phoenix.js Channel's hook, as stock: returns the payload it was given. */
class FakeChannel implements MessageHook {
  readonly seen: unknown[] = [];
  onMessage(_event: string, payload: unknown, _ref?: unknown): unknown {
    this.seen.push(payload);
    return payload;
  }
}

describe("trackLastSeen", () => {
  test("params carry the newest history id once one was seen, with the base params", () => {
    const tracker = trackLastSeen({ user: "ada" });
    const channel = tracker.attach(new FakeChannel());
    assert.deepEqual(tracker.params(), { user: "ada" });
    channel.onMessage("new_msg", { n: 1 }, "1700000000000-0");
    channel.onMessage("new_msg", { n: 2 }, "1700000000000-1");
    assert.deepEqual(tracker.params(), { user: "ada", last_seen: "1700000000000-1" });
    assert.deepEqual(channel.seen, [{ n: 1 }, { n: 2 }], "the original hook still runs and its result is returned");
  });

  test("replies, plain pushes and broadcasts without an id leave last_seen alone", () => {
    const tracker = trackLastSeen();
    const channel = tracker.attach(new FakeChannel());
    channel.onMessage("new_msg", {}, "1700000000000-3");
    channel.onMessage("phx_reply", { status: "ok" }, "1700000000999-0");
    channel.onMessage("presence_diff", {}, null);
    channel.onMessage("tick", {}, "7");
    assert.equal(tracker.lastSeen(), "1700000000000-3");
  });
});

describe("history ids", () => {
  test("isAfterHistoryId orders by time, then sequence (numerically, not as text)", () => {
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 45 }), fc.nat(), fc.nat({ max: 2 ** 45 }), fc.nat(), (t1, s1, t2, s2) => {
        const a = `${t1}-${s1}`;
        const b = `${t2}-${s2}`;
        assert.ok(isHistoryId(a) && isHistoryId(b));
        assert.equal(isAfterHistoryId(a, b), t1 > t2 || (t1 === t2 && s1 > s2));
      }),
    );
    assert.ok(isAfterHistoryId("10-0", "9-99"));
    assert.ok(isAfterHistoryId("5-10", "5-9"));
  });

  test("isHistoryId refuses what is not a stream id", () => {
    for (const value of ["", "1", "1-", "-1", "a-1", "1-1-1", " 1-1", 1, null, undefined]) assert.equal(isHistoryId(value), false, String(value));
  });
});
