import { countOf, withoutValue, withValue, type OneOrSet } from "./one-or-set.ts";

/**
 * Topic rooms with members on this node → those members, in place of the adapter's `rooms` map of
 * Sets of ids. The room walk of every broadcast reaches each member through its reference, not a
 * lookup of its id (in the steady profile the ids' hash lookups were 3 % of a node's CPU). A room
 * of one member holds just that member (with one topic per connection most rooms have one member
 * here, and a Set of one is ≈ 150 B of heap); it becomes a Set at its second member.
 *
 * A member must leave its rooms before it is dropped: the table holds it until then.
 */
export class RoomTable<Member> {
  private readonly rooms = new Map<string, OneOrSet<Member>>();

  /** The room's members here: one, or a Set of them in join order. */
  membersOf(room: string): OneOrSet<Member> | undefined {
    return this.rooms.get(room);
  }

  has(room: string): boolean {
    return this.rooms.has(room);
  }

  size(room: string): number {
    return countOf(this.rooms.get(room));
  }

  /** True when the room is new on this node. The caller adds a member once. */
  add(room: string, member: Member): boolean {
    const members = this.rooms.get(room);
    const added = withValue(members, member);
    if (added !== undefined && added !== members) this.rooms.set(room, added);
    return members === undefined;
  }

  /** True when the room's last member on this node left. */
  delete(room: string, member: Member): boolean {
    const rest = withoutValue(this.rooms.get(room), member);
    if (rest !== undefined) return false;
    this.rooms.delete(room);
    return true;
  }

  names(): IterableIterator<string> {
    return this.rooms.keys();
  }

  *counts(): IterableIterator<[room: string, members: number]> {
    for (const [room, members] of this.rooms) yield [room, countOf(members)];
  }
}
