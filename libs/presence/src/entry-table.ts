import type { Entry } from "./entry.ts";

/**
 * A topic's only member, held without a Map: with one topic per socket nearly every topic has one
 * member, and a Map per topic cost about 250 B on every node (this node's table and each replica).
 */
interface SoleMember {
  readonly memberId: string;
  entry: Entry;
}

type Members = Map<string, Entry> | SoleMember;

/**
 * One owner's live entries by topic and member, with their count: what `list` reads and what
 * diffs are computed against, for this node's own entries and for each replica alike. A topic
 * without entries is not held.
 */
export class EntryTable {
  private readonly byTopic = new Map<string, Members>();
  private count = 0;

  /** Entries over every topic. */
  get size(): number {
    return this.count;
  }

  get(topic: string, memberId: string): Entry | undefined {
    const members = this.byTopic.get(topic);
    if (members instanceof Map) return members.get(memberId);
    return members?.memberId === memberId ? members.entry : undefined;
  }

  entriesOf(topic: string): Iterable<Entry> {
    const members = this.byTopic.get(topic);
    if (members instanceof Map) return members.values();
    return members ? [members.entry] : [];
  }

  sizeOf(topic: string): number {
    const members = this.byTopic.get(topic);
    if (members instanceof Map) return members.size;
    return members ? 1 : 0;
  }

  topicNames(): Iterable<string> {
    return this.byTopic.keys();
  }

  /** Every entry, by topic (a Map made for each one-member topic: for rare whole-table work, not per join). */
  all(): ReadonlyMap<string, ReadonlyMap<string, Entry>> {
    const all = new Map<string, ReadonlyMap<string, Entry>>();
    for (const [topic, members] of this.byTopic) all.set(topic, members instanceof Map ? members : new Map([[members.memberId, members.entry]]));
    return all;
  }

  set(topic: string, memberId: string, entry: Entry): void {
    const members = this.byTopic.get(topic);
    if (members instanceof Map) {
      if (!members.has(memberId)) this.count += 1;
      members.set(memberId, entry);
    } else if (members?.memberId === memberId) {
      members.entry = entry;
    } else {
      this.count += 1;
      this.byTopic.set(topic, members ? new Map([[members.memberId, members.entry], [memberId, entry]]) : { memberId, entry });
    }
  }

  /** False when there was no such entry. */
  delete(topic: string, memberId: string): boolean {
    const members = this.byTopic.get(topic);
    if (members instanceof Map) {
      if (!members.delete(memberId)) return false;
      if (members.size === 0) this.byTopic.delete(topic);
    } else {
      if (members?.memberId !== memberId) return false;
      this.byTopic.delete(topic);
    }
    this.count -= 1;
    return true;
  }
}
