import { compareJoinOrder, toPresenceMeta, type Entry } from "./entry.ts";
import type { PresenceDiff, PresenceState } from "./types.ts";

/**
 * Collects joins and leaves for one topic, then builds the `presence_diff` payload.
 *
 * One diff may hold several changes of one member (a batch of a large topic, see
 * `PresenceEngine`): phoenix.js `syncDiff` applies every join before every leave, so a meta that
 * joined and left within the diff ends up gone, and a member's new meta (a rejoin or an update
 * has a new phx_ref) stays. A join this node has shown no client yet (`unseen`) is cancelled by
 * its leave instead: nobody needs to hear of it.
 */
export class DiffBuilder {
  /** By phx_ref. */
  private readonly joins = new Map<string, Entry>();
  private readonly leaves: Entry[] = [];
  /** phx_refs of joins no `presence_state` has carried since they were made. */
  private readonly unseen = new Set<string>();

  join(entry: Entry, unseen = false): void {
    this.joins.set(entry.ref, entry);
    if (unseen) this.unseen.add(entry.ref);
  }

  leave(entry: Entry): void {
    if (this.unseen.delete(entry.ref)) this.joins.delete(entry.ref);
    else this.leaves.push(entry);
  }

  /** Records what changed for one member: a leave of the old entry and a join of the new one, unless they are the same join. */
  change(before: Entry | undefined, after: Entry | undefined, unseen = false): void {
    if (before && after && before.ref === after.ref) return;
    if (before) this.leave(before);
    if (after) this.join(after, unseen);
  }

  /** Appends another diff of the same topic (its joins are not unseen: they come from elsewhere). */
  merge(other: DiffBuilder): void {
    for (const entry of other.joins.values()) this.join(entry);
    for (const entry of other.leaves) this.leave(entry);
  }

  /** A `presence_state` of the topic went out: every join so far may be on a client now. */
  listed(): void {
    this.unseen.clear();
  }

  /** Joins and leaves held. */
  get changes(): number {
    return this.joins.size + this.leaves.length;
  }

  get empty(): boolean {
    return this.joins.size === 0 && this.leaves.length === 0;
  }

  build(): PresenceDiff {
    return { joins: toPresenceState(this.joins.values()), leaves: toPresenceState(this.leaves) };
  }
}

/**
 * The diff of one member's local change (`before` left, `after` joined, their refs differ): what a
 * DiffBuilder holding that change builds, without its collections, grouping and sorting. Every
 * join sends one to the joiner.
 */
export function changeDiff(before: Entry | undefined, after: Entry | undefined): PresenceDiff {
  return { joins: after ? stateOf(after) : {}, leaves: before ? stateOf(before) : {} };
}

function stateOf(entry: Entry): PresenceState {
  return { [entry.key]: { metas: [toPresenceMeta(entry)] } };
}

/**
 * Groups entries by key, keys sorted by code unit (Elixir prints binary map keys sorted; JSON
 * objects still put integer-like keys first, which no client depends on), metas in join order.
 */
export function toPresenceState(entries: Iterable<Entry>): PresenceState {
  // A joiner's presence_state in a one-member topic: nothing to group or sort.
  if (Array.isArray(entries) && entries.length === 1) return stateOf(entries[0] as Entry);
  const byKey = new Map<string, Entry[]>();
  for (const entry of entries) {
    const group = byKey.get(entry.key);
    if (group) group.push(entry);
    else byKey.set(entry.key, [entry]);
  }
  const state: PresenceState = {};
  for (const key of [...byKey.keys()].sort()) {
    const presence = { metas: byKey.get(key)!.sort(compareJoinOrder).map(toPresenceMeta) };
    // A key is whatever id the application tracks: `state["__proto__"] = …` would set the
    // object's prototype, and the entry would vanish from the JSON the clients get.
    if (key === "__proto__") Object.defineProperty(state, key, { value: presence, enumerable: true, writable: true, configurable: true });
    else state[key] = presence;
  }
  return state;
}
