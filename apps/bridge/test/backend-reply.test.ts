import assert from "node:assert/strict";
import { test } from "node:test";
import { parseBackendReply } from "../src/backend-reply.ts";

const body = (value: unknown) => Buffer.from(JSON.stringify(value));

test("a reply addresses the pushing socket with its refs; status and response have defaults", () => {
  assert.deepEqual(parseBackendReply("a:b", body({ socket: "s1", ref: "5", join_ref: "3", status: "error", response: { why: 1 } })), {
    ok: true,
    value: { socket: "s1", reply: { joinRef: "3", ref: "5", topic: "a:b", status: "error", response: { why: 1 } } },
  });
  assert.deepEqual(parseBackendReply("t", body({ socket: "s1", ref: "5" })), {
    ok: true,
    value: { socket: "s1", reply: { joinRef: null, ref: "5", topic: "t", status: "ok", response: {} } },
  });
});

test("unusable replies are refused with a reason", () => {
  const cases: Array<[Buffer, RegExp]> = [
    [Buffer.from("nope"), /not JSON/],
    [body([1]), /not a JSON object/],
    [body({ ref: "1" }), /socket/],
    [body({ socket: "s", ref: 1 }), /ref/],
    [body({ socket: "s", ref: "1", join_ref: 2 }), /join_ref/],
    [body({ socket: "s", ref: "1", status: "maybe" }), /status/],
  ];
  for (const [data, reason] of cases) {
    const result = parseBackendReply("t", data);
    assert.equal(result.ok, false, data.toString());
    if (!result.ok) assert.match(result.error, reason);
  }
});
