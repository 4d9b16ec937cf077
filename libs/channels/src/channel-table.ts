/**
 * A socket's joined channels by topic. Most sockets hold one: a `Map` costs ≈ 180 B of heap from
 * its creation (its hash table is allocated up front), so the first channel sits in a field and a
 * Map is made only when a second one joins. Iteration is in join order, as a Map's.
 */
export class ChannelTable<Entry extends { readonly topic: string }> {
  private only: Entry | undefined;
  private byTopic: Map<string, Entry> | undefined;

  get size(): number {
    return this.byTopic?.size ?? (this.only === undefined ? 0 : 1);
  }

  get(topic: string): Entry | undefined {
    if (this.byTopic !== undefined) return this.byTopic.get(topic);
    return this.only?.topic === topic ? this.only : undefined;
  }

  /** Adds the entry, or replaces the one of its topic. */
  set(entry: Entry): void {
    if (this.byTopic !== undefined) {
      this.byTopic.set(entry.topic, entry);
    } else if (this.only === undefined || this.only.topic === entry.topic) {
      this.only = entry;
    } else {
      this.byTopic = new Map([
        [this.only.topic, this.only],
        [entry.topic, entry],
      ]);
      this.only = undefined;
    }
  }

  delete(topic: string): void {
    if (this.byTopic !== undefined) {
      this.byTopic.delete(topic);
      if (this.byTopic.size === 0) this.byTopic = undefined;
    } else if (this.only?.topic === topic) {
      this.only = undefined;
    }
  }

  /** A copy: callers may delete while they walk it. */
  entries(): Entry[] {
    if (this.byTopic !== undefined) return [...this.byTopic.values()];
    return this.only === undefined ? [] : [this.only];
  }
}
