import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { DiffBuilder, changeDiff, toPresenceState } from "../src/diff.ts";
import type { Entry } from "../src/entry.ts";

describe("one member's change", () => {
  it("diffs as a DiffBuilder holding that change does", () => {
    const entry = (ref: string): fc.Arbitrary<Entry> =>
      fc.record({ key: fc.string(), order: fc.nat(), meta: fc.dictionary(fc.string(), fc.jsonValue()), prevRef: fc.option(fc.string(), { nil: undefined }) }).map(({ prevRef, ...rest }) =>
        prevRef === undefined ? { ...rest, ref } : { ...rest, ref, prevRef },
      );
    fc.assert(
      fc.property(fc.option(entry("before"), { nil: undefined }), fc.option(entry("after"), { nil: undefined }), (before, after) => {
        const builder = new DiffBuilder();
        builder.change(before, after);
        assert.deepEqual(changeDiff(before, after), builder.build());
      }),
    );
  });
});

describe("presence keys", () => {
  it("any string, \"__proto__\" included, is an own key of the state and its JSON", () => {
    const entries: Entry[] = [
      { key: "__proto__", ref: "r1", order: 1, meta: {} },
      { key: "alice", ref: "r2", order: 2, meta: {} },
    ];
    const state = toPresenceState(entries);
    assert.deepEqual(Object.keys(state), ["__proto__", "alice"]);
    assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(state))), ["__proto__", "alice"]);
    assert.equal(Object.getPrototypeOf(state), Object.prototype);
  });
});
