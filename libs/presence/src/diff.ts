import { compareJoinOrder, toPresenceMeta, type Entry } from "./entry.ts";
import type { PresenceDiff, PresenceState } from "./types.ts";

/** Collects joins and leaves for one topic, then builds the `presence_diff` payload. */
export class DiffBuilder {
  private readonly joins: Entry[] = [];
  private readonly leaves: Entry[] = [];

  join(entry: Entry): void {
    this.joins.push(entry);
  }

  leave(entry: Entry): void {
    this.leaves.push(entry);
  }

  /** Records what changed for one member: a leave of the old entry and a join of the new one, unless they are the same join. */
  change(before: Entry | undefined, after: Entry | undefined): void {
    if (before && after && before.ref === after.ref) return;
    if (before) this.leave(before);
    if (after) this.join(after);
  }

  get empty(): boolean {
    return this.joins.length === 0 && this.leaves.length === 0;
  }

  build(): PresenceDiff {
    return { joins: toPresenceState(this.joins), leaves: toPresenceState(this.leaves) };
  }
}

/**
 * Groups entries by key, keys sorted by code unit (Elixir prints binary map keys sorted; JSON
 * objects still put integer-like keys first, which no client depends on), metas in join order.
 */
export function toPresenceState(entries: Iterable<Entry>): PresenceState {
  const byKey = new Map<string, Entry[]>();
  for (const entry of entries) {
    const group = byKey.get(entry.key);
    if (group) group.push(entry);
    else byKey.set(entry.key, [entry]);
  }
  const state: PresenceState = {};
  for (const key of [...byKey.keys()].sort()) {
    state[key] = { metas: byKey.get(key)!.sort(compareJoinOrder).map(toPresenceMeta) };
  }
  return state;
}
