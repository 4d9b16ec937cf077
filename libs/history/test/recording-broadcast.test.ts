import assert from "node:assert/strict";
import { test } from "node:test";
import { recordingBroadcast } from "@switchboard/history";
import type { History } from "@switchboard/history";
import type { Broadcast } from "@switchboard/protocol";

/** A history whose appends finish in the order the test releases them. */
function controlledHistory() {
  const pending: Array<(id: string | undefined) => void> = [];
  const history: History = {
    records: (topic) => topic.startsWith("kept:"),
    accepts: (topic) => topic.startsWith("kept:"),
    record: () => new Promise((resolve) => pending.push(resolve)),
    since: () => Promise.resolve({ recovered: false }),
    after: () => Promise.resolve([]),
    append: () => Promise.resolve("0-0"),
    findAppended: () => Promise.resolve(undefined),
    isAfter: () => true,
    idBefore: () => "0-0",
  };
  return { history, pending };
}

test("recorded broadcasts of a topic leave in call order with their ids, even when appends finish out of order", async () => {
  const { history, pending } = controlledHistory();
  const sent: Array<{ payload: unknown; historyId?: string }> = [];
  const broadcast = recordingBroadcast(history, async (message: Broadcast, options) => {
    sent.push({ payload: message.payload, historyId: options?.historyId });
  });
  const first = broadcast({ topic: "kept:a", event: "e", payload: 1 });
  const second = broadcast({ topic: "kept:a", event: "e", payload: 2 });
  pending[1]!("5-1");
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(sent, [], "the second waits for the first");
  pending[0]!("5-0");
  await Promise.all([first, second]);
  assert.deepEqual(sent, [
    { payload: 1, historyId: "5-0" },
    { payload: 2, historyId: "5-1" },
  ]);
});

test("unrecorded topics go straight through; a failed append still broadcasts, without an id", async () => {
  const { history, pending } = controlledHistory();
  const sent: Array<{ topic: string; historyId?: string; exceptMemberId?: string }> = [];
  const broadcast = recordingBroadcast(history, async (message, options) => {
    sent.push({ topic: message.topic, historyId: options?.historyId, exceptMemberId: options?.exceptMemberId });
  });
  await broadcast({ topic: "other", event: "e", payload: {} }, { exceptMemberId: "s1" });
  assert.deepEqual(sent, [{ topic: "other", historyId: undefined, exceptMemberId: "s1" }]);
  const kept = broadcast({ topic: "kept:b", event: "e", payload: {} }, { exceptMemberId: "s2" });
  pending[0]!(undefined);
  await kept;
  assert.deepEqual(sent[1], { topic: "kept:b", historyId: undefined, exceptMemberId: "s2" });
});
