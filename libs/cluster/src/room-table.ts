/** The ids of a room's members on this node: one id, or a Set of them in join order. */
export type RoomMembers = string | Set<string>;

/**
 * Topic rooms with members on this node → those members' ids, in place of the adapter's `rooms`
 * map of Sets. A room of one member holds its id (with one topic per connection most rooms have
 * one member here, and a Set of one is ≈ 150 B of heap); it becomes a Set at its second member.
 */
export class RoomTable {
  private readonly rooms = new Map<string, RoomMembers>();

  membersOf(room: string): RoomMembers | undefined {
    return this.rooms.get(room);
  }

  has(room: string): boolean {
    return this.rooms.has(room);
  }

  size(room: string): number {
    return sizeOf(this.rooms.get(room));
  }

  /** True when the room is new on this node. The caller adds a member once. */
  add(room: string, memberId: string): boolean {
    const members = this.rooms.get(room);
    if (members === undefined) this.rooms.set(room, memberId);
    else if (typeof members === "string") this.rooms.set(room, new Set([members, memberId]));
    else members.add(memberId);
    return members === undefined;
  }

  /** True when the room's last member on this node left. */
  delete(room: string, memberId: string): boolean {
    const members = this.rooms.get(room);
    if (members === undefined) return false;
    if (typeof members === "string" ? members !== memberId : !members.delete(memberId) || members.size > 0) return false;
    this.rooms.delete(room);
    return true;
  }

  names(): IterableIterator<string> {
    return this.rooms.keys();
  }

  *counts(): IterableIterator<[room: string, members: number]> {
    for (const [room, members] of this.rooms) yield [room, sizeOf(members)];
  }
}

function sizeOf(members: RoomMembers | undefined): number {
  if (members === undefined) return 0;
  return typeof members === "string" ? 1 : members.size;
}
