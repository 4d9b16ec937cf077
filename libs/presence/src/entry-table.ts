import type { Entry } from "./entry.ts";

/**
 * One owner's live entries by topic and member, with their count: what `list` reads and what
 * diffs are computed against, for this node's own document and for each replica alike. A topic
 * without entries has no map.
 */
export class EntryTable {
  private readonly byTopic = new Map<string, Map<string, Entry>>();
  private count = 0;

  /** Entries over every topic. */
  get size(): number {
    return this.count;
  }

  get(topic: string, memberId: string): Entry | undefined {
    return this.byTopic.get(topic)?.get(memberId);
  }

  /** The topic's entries by member; undefined when it has none. */
  topic(topic: string): ReadonlyMap<string, Entry> | undefined {
    return this.byTopic.get(topic);
  }

  entriesOf(topic: string): Iterable<Entry> {
    return this.byTopic.get(topic)?.values() ?? [];
  }

  sizeOf(topic: string): number {
    return this.byTopic.get(topic)?.size ?? 0;
  }

  topicNames(): Iterable<string> {
    return this.byTopic.keys();
  }

  /** Every entry, by topic. */
  all(): ReadonlyMap<string, ReadonlyMap<string, Entry>> {
    return this.byTopic;
  }

  set(topic: string, memberId: string, entry: Entry): void {
    let members = this.byTopic.get(topic);
    if (!members) this.byTopic.set(topic, (members = new Map()));
    if (!members.has(memberId)) this.count += 1;
    members.set(memberId, entry);
  }

  /** False when there was no such entry. */
  delete(topic: string, memberId: string): boolean {
    const members = this.byTopic.get(topic);
    if (!members?.delete(memberId)) return false;
    this.count -= 1;
    if (members.size === 0) this.byTopic.delete(topic);
    return true;
  }

  /** The topic's entries become exactly these (the map is kept, not copied). */
  replaceTopic(topic: string, members: Map<string, Entry>): void {
    this.count += members.size - this.sizeOf(topic);
    if (members.size > 0) this.byTopic.set(topic, members);
    else this.byTopic.delete(topic);
  }
}
