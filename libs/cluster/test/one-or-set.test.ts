import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { countOf, isSet, valuesOf, withoutValue, withValue, type OneOrSet } from "../src/one-or-set.ts";

describe("OneOrSet", () => {
  it("holds one value as itself, more as a Set in insertion order, and refuses a value it holds", () => {
    let values: OneOrSet<string> | undefined = withValue(undefined, "a");
    assert.equal(values, "a");
    assert.equal(withValue(values, "a"), undefined);
    values = withValue(values, "b")!;
    values = withValue(values, "c")!;
    assert.ok(values instanceof Set);
    assert.equal(withValue(values, "b"), undefined);
    assert.deepEqual(valuesOf(values), ["a", "b", "c"]);
    assert.equal(countOf(values), 3);
  });

  it("removes only values it holds and is undefined once empty", () => {
    assert.equal(withoutValue(undefined, "a"), false);
    assert.equal(withoutValue("a", "b"), false);
    assert.equal(withoutValue("a", "a"), undefined);
    const values = new Set(["a", "b"]);
    assert.equal(withoutValue(values, "c"), false);
    assert.deepEqual(valuesOf(withoutValue(values, "a") || undefined), ["b"]);
    assert.equal(withoutValue(values, "b"), undefined);
    assert.equal(countOf(undefined), 0);
    assert.deepEqual(valuesOf(undefined), []);
  });

  it("holds objects by identity: one as itself, an equal-looking other as a second value", () => {
    const first = { id: "a" };
    const twin = { id: "a" };
    let values: OneOrSet<{ id: string }> | undefined = withValue(undefined, first);
    assert.equal(values, first);
    assert.equal(isSet(values!), false);
    values = withValue(values, twin)!;
    assert.ok(isSet(values));
    assert.deepEqual(valuesOf(values), [first, twin]);
    assert.equal(withoutValue(values, { id: "a" }), false);
    assert.equal(withoutValue(values, first), values);
    assert.equal(withoutValue(values, twin), undefined);
  });
});
