import assert from "node:assert/strict";
import { test } from "node:test";
import { ChannelTable } from "../src/channel-table.ts";

const entry = (topic: string, n = 0) => ({ topic, n });

test("channel table: one entry, then several, in join order; replace keeps the position; back to none", () => {
  const table = new ChannelTable<ReturnType<typeof entry>>();
  assert.equal(table.size, 0);
  assert.deepEqual(table.entries(), []);
  table.set(entry("a"));
  table.set(entry("a", 1));
  assert.equal(table.size, 1);
  assert.deepEqual(table.get("a"), entry("a", 1), "a rejoin replaces its topic's entry");
  assert.equal(table.get("b"), undefined);
  table.set(entry("b"));
  table.set(entry("c"));
  table.set(entry("b", 1));
  assert.equal(table.size, 3);
  assert.deepEqual(table.entries(), [entry("a", 1), entry("b", 1), entry("c")]);
  for (const { topic } of table.entries()) table.delete(topic);
  assert.equal(table.size, 0);
  assert.equal(table.get("a"), undefined);
  table.set(entry("d"));
  table.delete("x");
  assert.deepEqual(table.entries(), [entry("d")]);
  table.delete("d");
  assert.equal(table.size, 0);
  assert.equal(table.get("d"), undefined);
});
