import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { valuesOf } from "../src/one-or-set.ts";
import { RoomTable } from "../src/room-table.ts";

const idsOf = (table: RoomTable<string>, room: string) => valuesOf(table.membersOf(room));

describe("RoomTable", () => {
  it("keeps a room's members in join order, from one member to a Set and back to no room", () => {
    const table = new RoomTable<string>();
    assert.equal(table.add("t:a", "m1"), true, "a new room");
    assert.equal(table.membersOf("t:a"), "m1", "one member is itself, no Set");
    assert.equal(table.add("t:a", "m2"), false);
    assert.equal(table.add("t:a", "m3"), false);
    assert.deepEqual(idsOf(table, "t:a"), ["m1", "m2", "m3"]);
    assert.equal(table.size("t:a"), 3);

    assert.equal(table.delete("t:a", "m9"), false, "not a member");
    assert.equal(table.delete("t:a", "m1"), false);
    assert.equal(table.delete("t:a", "m3"), false);
    assert.deepEqual(idsOf(table, "t:a"), ["m2"]);
    assert.equal(table.delete("t:a", "m2"), true, "the last member left");
    assert.equal(table.has("t:a"), false);
    assert.equal(table.size("t:a"), 0);
  });

  it("deletes a one-member room only for its member and counts every room", () => {
    const table = new RoomTable<string>();
    table.add("t:a", "m1");
    table.add("t:b", "m1");
    table.add("t:b", "m2");
    assert.equal(table.delete("t:a", "m2"), false);
    assert.equal(table.delete("t:missing", "m1"), false);
    assert.deepEqual([...table.counts()], [["t:a", 1], ["t:b", 2]]);
    assert.deepEqual([...table.names()], ["t:a", "t:b"]);
  });
});
