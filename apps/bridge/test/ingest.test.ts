import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { test } from "node:test";
import { pino } from "pino";
import { payloadValue, type Broadcast, type Reply } from "@switchboard/protocol";
import { createIngest } from "../src/ingest.ts";
import type { LeaderLease } from "../src/lease.ts";

/** A lease whose holding and deadline the test sets; `renew` confirms a new deadline. */
function fakeLease(holding: boolean, validUntil: number) {
  const events = new EventEmitter();
  const state = { holding, validUntil };
  const lease: Pick<LeaderLease, "isHolding" | "validUntil" | "on"> = {
    isHolding: () => state.holding,
    validUntil: () => state.validUntil,
    on(event: string, listener: (leader: boolean) => void) {
      events.on(event, listener);
    },
  };
  return {
    lease,
    renew(until: number) {
      state.validUntil = until;
      events.emit("renewed");
    },
    lose() {
      state.holding = false;
      events.emit("change", false);
    },
  };
}

function harness(leader: boolean, control = fakeLease(leader, leader ? Infinity : 0)) {
  const broadcasts: Broadcast[] = [];
  const replies: Array<{ socket: string; reply: Reply }> = [];
  const ingest = createIngest({
    cluster: {
      broadcast: async (broadcast) => void broadcasts.push(broadcast),
      reply: async (socket, reply) => (replies.push({ socket, reply }), true),
    },
    lease: control.lease,
    logger: pino({ level: "silent" }),
  });
  const receive = (channel: string, data: string | Buffer) => ingest.receive(Buffer.from(channel), Buffer.isBuffer(data) ? data : Buffer.from(data));
  return { ingest, broadcasts, replies, receive, control };
}

test("the leader turns to: messages into broadcasts: nested topics, JSON and binary payloads", () => {
  const { ingest, broadcasts, receive } = harness(true);
  receive("to:system:update", '{"n":1}');
  receive("to:a:b:c:evt", Buffer.from([1, 2, 3]));
  // JSON stays text (a RawJson) on its way out; its value is what was published.
  assert.deepEqual(
    broadcasts.map((broadcast) => ({ ...broadcast, payload: payloadValue(broadcast.payload) })),
    [
    { topic: "system", event: "update", payload: { n: 1 } },
    { topic: "a:b:c", event: "evt", payload: Buffer.from([1, 2, 3]) },
    ],
  );
  assert.equal(ingest.stats.forwarded, 2);
});

test("a standby forwards nothing", () => {
  const { ingest, broadcasts, replies, receive } = harness(false);
  receive("to:system:update", "{}");
  receive("reply:system", '{"socket":"s","ref":"1"}');
  assert.equal(broadcasts.length + replies.length, 0);
  assert.equal(ingest.stats.standby, 2);
});

test("backend replies go to the addressed socket; malformed input is counted, not forwarded", () => {
  const { ingest, broadcasts, replies, receive } = harness(true);
  receive("reply:a:b", '{"socket":"s1","ref":"7","join_ref":"2","response":{"ok":true}}');
  assert.deepEqual(replies, [{ socket: "s1", reply: { joinRef: "2", ref: "7", topic: "a:b", status: "ok", response: { ok: true } } }]);
  receive("to:noevent", "{}");
  receive(`to:${"x".repeat(256)}:evt`, "{}");
  receive("reply:t", "garbage");
  receive("reply:", '{"socket":"s","ref":"1"}');
  assert.equal(broadcasts.length, 0);
  assert.equal(ingest.stats.malformed, 4);
});

test("topics and events of up to 255 bytes of UTF-8 are forwarded, longer ones refused, whatever their characters", () => {
  const { ingest, broadcasts, receive } = harness(true);
  // "€" is 3 bytes, "é" 2, "😀" 4 (two UTF-16 code units).
  const fitting = ["x".repeat(255), "€".repeat(85), `${"é".repeat(127)}x`, "😀".repeat(63) + "xxx"];
  const over = ["x".repeat(256), "€".repeat(86), "é".repeat(128), "😀".repeat(64)];
  for (const name of fitting) {
    receive(`to:${name}:evt`, "{}");
    receive(`to:topic:${name}`, "{}");
  }
  assert.equal(broadcasts.length, fitting.length * 2);
  for (const name of over) {
    receive(`to:${name}:evt`, "{}");
    receive(`to:topic:${name}`, "{}");
  }
  assert.equal(broadcasts.length, fitting.length * 2);
  assert.equal(ingest.stats.malformed, over.length * 2);
});

test("messages read past the deadline wait for the pending renewal: forwarded if it confirms them, in order", () => {
  const { ingest, broadcasts, receive, control } = harness(true, fakeLease(true, 0));
  receive("to:t:a", "{}");
  receive("to:t:b", "{}");
  assert.equal(broadcasts.length, 0, "nothing forwarded before the renewal answers");
  control.renew(performance.now() + 1_000);
  receive("to:t:c", "{}");
  assert.deepEqual(
    broadcasts.map(({ event }) => event),
    ["a", "b", "c"],
  );
  assert.equal(ingest.stats.awaitedRenewal, 2);
});

test("a renewal only confirms messages read before its deadline; losing the lease drops the rest", () => {
  const { ingest, broadcasts, receive, control } = harness(true, fakeLease(true, 0));
  receive("to:t:early", "{}");
  const between = performance.now();
  receive("to:t:late", "{}");
  control.renew(between);
  assert.deepEqual(broadcasts.map(({ event }) => event), ["early"]);
  control.lose();
  receive("to:t:after", "{}");
  assert.equal(broadcasts.length, 1);
  assert.equal(ingest.stats.standby, 2);
});
