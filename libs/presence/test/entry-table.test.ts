import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Entry } from "../src/entry.ts";
import { EntryTable } from "../src/entry-table.ts";

describe("entry table", () => {
  it("holds what a map of maps holds through any sets and deletes (one-member topics kept without a Map)", () => {
    const step = fc.record({ set: fc.boolean(), topic: fc.constantFrom("a", "b", "c"), member: fc.constantFrom("m1", "m2", "m3"), ref: fc.nat() });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const table = new EntryTable();
        const reference = new Map<string, Map<string, Entry>>();
        for (const { set, topic, member, ref } of steps) {
          const members = reference.get(topic) ?? new Map<string, Entry>();
          if (set) {
            const entry: Entry = { key: member, ref: String(ref), order: ref, meta: {} };
            table.set(topic, member, entry);
            reference.set(topic, members.set(member, entry));
          } else {
            assert.equal(table.delete(topic, member), members.delete(member));
            if (members.size === 0) reference.delete(topic);
          }
          assert.equal(table.size, [...reference.values()].reduce((sum, entries) => sum + entries.size, 0));
          for (const name of ["a", "b", "c"]) {
            const expected = reference.get(name);
            assert.equal(table.sizeOf(name), expected?.size ?? 0);
            assert.deepEqual([...table.entriesOf(name)], [...(expected?.values() ?? [])]);
            for (const id of ["m1", "m2", "m3"]) assert.equal(table.get(name, id), expected?.get(id));
          }
          assert.deepEqual(table.all(), reference);
          assert.deepEqual(new Set(table.topicNames()), new Set(reference.keys()));
        }
      }),
    );
  });
});
