import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { channelName, parseChannelName, TO_PREFIX } from "../src/channel-name.ts";

test("splits at the last colon: the topic keeps its own colons", () => {
  assert.deepEqual(parseChannelName(TO_PREFIX, "to:system:update"), { topic: "system", event: "update" });
  assert.deepEqual(parseChannelName(TO_PREFIX, "to:rooms:lobby:new_msg"), { topic: "rooms:lobby", event: "new_msg" });
  assert.deepEqual(parseChannelName(TO_PREFIX, "to:a:b:c:evt"), { topic: "a:b:c", event: "evt" });
  assert.deepEqual(parseChannelName("from:", "from:a:b"), { topic: "a", event: "b" });
});

test("names without a topic, an event or the prefix are refused", () => {
  for (const name of ["to:evt", "to::evt", "to:a:", "to:", "from:a:b", "xto:a:b", "to:a"]) {
    assert.equal(parseChannelName(TO_PREFIX, name), null, name);
  }
});

test("channelName and parseChannelName round-trip for any colon-free event", () => {
  fc.assert(
    fc.property(
      fc.string({ minLength: 1 }),
      fc.string({ minLength: 1 }).filter((event) => !event.includes(":")),
      (topic, event) => {
        assert.deepEqual(parseChannelName(TO_PREFIX, channelName(TO_PREFIX, { topic, event })), { topic, event });
      },
    ),
  );
});
