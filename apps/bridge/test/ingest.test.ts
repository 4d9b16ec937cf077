import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import type { Broadcast, Reply } from "@switchboard/protocol";
import { createIngest } from "../src/ingest.ts";

function harness(leader: boolean) {
  const broadcasts: Broadcast[] = [];
  const replies: Array<{ socket: string; reply: Reply }> = [];
  const ingest = createIngest({
    cluster: {
      broadcast: async (broadcast) => void broadcasts.push(broadcast),
      reply: async (socket, reply) => (replies.push({ socket, reply }), true),
    },
    isLeader: () => leader,
    logger: pino({ level: "silent" }),
  });
  const receive = (channel: string, data: string | Buffer) => ingest.receive(Buffer.from(channel), Buffer.isBuffer(data) ? data : Buffer.from(data));
  return { ingest, broadcasts, replies, receive };
}

test("the leader turns to: messages into broadcasts: nested topics, JSON and binary payloads", () => {
  const { ingest, broadcasts, receive } = harness(true);
  receive("to:system:update", '{"n":1}');
  receive("to:a:b:c:evt", Buffer.from([1, 2, 3]));
  assert.deepEqual(broadcasts, [
    { topic: "system", event: "update", payload: { n: 1 } },
    { topic: "a:b:c", event: "evt", payload: Buffer.from([1, 2, 3]) },
  ]);
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
