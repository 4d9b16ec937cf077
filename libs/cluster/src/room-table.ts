import { countOf, withoutValue, withValue, type OneOrSet } from "./one-or-set.ts";

/**
 * Topic rooms with members on this node → those members' ids, in place of the adapter's `rooms`
 * map of Sets. A room of one member holds its id (with one topic per connection most rooms have
 * one member here, and a Set of one is ≈ 150 B of heap); it becomes a Set at its second member.
 */
export class RoomTable {
  private readonly rooms = new Map<string, OneOrSet>();

  /** The room's members here: one id, or a Set of them in join order. */
  membersOf(room: string): OneOrSet | undefined {
    return this.rooms.get(room);
  }

  has(room: string): boolean {
    return this.rooms.has(room);
  }

  size(room: string): number {
    return countOf(this.rooms.get(room));
  }

  /** True when the room is new on this node. The caller adds a member once. */
  add(room: string, memberId: string): boolean {
    const members = this.rooms.get(room);
    const added = withValue(members, memberId);
    if (added !== undefined && added !== members) this.rooms.set(room, added);
    return members === undefined;
  }

  /** True when the room's last member on this node left. */
  delete(room: string, memberId: string): boolean {
    const rest = withoutValue(this.rooms.get(room), memberId);
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
