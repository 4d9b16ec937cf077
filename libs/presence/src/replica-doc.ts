import * as decoding from "lib0/decoding";
import * as syncProtocol from "y-protocols/sync";
import * as Y from "yjs";
import { TOPICS_MAP, isEntry, presenceDoc, type Entry } from "./entry.ts";
import { EntryTable } from "./entry-table.ts";

export interface MemberChange {
  topic: string;
  before: Entry | undefined;
  after: Entry | undefined;
}

export type ApplyResult =
  | { ok: true; changes: MemberChange[]; complete: boolean }
  | { ok: false; reason: string };

/**
 * Another node's document (every topic of it), as replicated here. `complete` is false when an
 * update depended on one this node never received (Yjs parks it as pending): the owner must
 * resync us.
 *
 * The well-formed entries are mirrored in plain maps: they are what `list` reads, and they hold
 * an entry's previous value when an update replaces or deletes it (a deleted nested map's content
 * is gone from the document).
 */
export class ReplicaDoc {
  private readonly doc = presenceDoc();
  private readonly topics = this.doc.getMap<unknown>(TOPICS_MAP);
  private readonly mirror = new EntryTable();
  /** Topics added, replaced or deleted by the update being applied: re-read whole. */
  private readonly replacedTopics = new Set<string>();
  /** Members changed inside a topic's map by the update being applied. */
  private readonly changedMembers = new Map<string, Set<string>>();
  constructor(readonly generation: number) {
    this.topics.observeDeep((events) => {
      for (const event of events) {
        // Only maps are written by owners; anything else is not an entry.
        if (!(event instanceof Y.YMapEvent)) continue;
        if (event.target === this.topics) {
          for (const topic of event.keysChanged) this.replacedTopics.add(topic);
          continue;
        }
        const [topic] = event.path;
        if (typeof topic !== "string") continue;
        let members = this.changedMembers.get(topic);
        if (!members) this.changedMembers.set(topic, (members = new Set()));
        for (const memberId of event.keysChanged) members.add(memberId);
      }
    });
  }

  get size(): number {
    return this.mirror.size;
  }

  entriesOf(topic: string): Iterable<Entry> {
    return this.mirror.entriesOf(topic);
  }

  sizeOf(topic: string): number {
    return this.mirror.sizeOf(topic);
  }

  topicNames(): Iterable<string> {
    return this.mirror.topicNames();
  }

  /** Every entry held, by topic. */
  all(): ReadonlyMap<string, ReadonlyMap<string, Entry>> {
    return this.mirror.all();
  }

  encodedSize(): number {
    return Y.encodeStateAsUpdate(this.doc).byteLength;
  }

  stateVector(): Uint8Array {
    return Y.encodeStateVector(this.doc);
  }

  /** Applies a y-protocols sync step 2 or update message. */
  apply(sync: Uint8Array): ApplyResult {
    this.replacedTopics.clear();
    this.changedMembers.clear();
    try {
      const decoder = decoding.createDecoder(sync);
      const type = decoding.readVarUint(decoder);
      if (type !== syncProtocol.messageYjsSyncStep2 && type !== syncProtocol.messageYjsUpdate) {
        return { ok: false, reason: `unexpected sync message type ${type}` };
      }
      Y.applyUpdate(this.doc, decoding.readVarUint8Array(decoder));
    } catch (error) {
      return { ok: false, reason: error instanceof Error ? error.message : String(error) };
    }
    const changes: MemberChange[] = [];
    for (const topic of this.replacedTopics) this.rereadTopic(topic, changes);
    for (const [topic, memberIds] of this.changedMembers) {
      if (!this.replacedTopics.has(topic)) this.rereadMembers(topic, memberIds, changes);
    }
    this.replacedTopics.clear();
    this.changedMembers.clear();
    const store = this.doc.store;
    return { ok: true, changes, complete: store.pendingStructs === null && store.pendingDs === null };
  }

  destroy(): void {
    this.doc.destroy();
  }

  private rereadTopic(topic: string, changes: MemberChange[]): void {
    const before = this.mirror.topic(topic);
    const after = new Map<string, Entry>();
    const map = this.topics.get(topic);
    if (map instanceof Y.Map) {
      for (const [memberId, value] of map.entries()) if (isEntry(value)) after.set(memberId, value);
    }
    for (const [memberId, entry] of before ?? []) {
      const now = after.get(memberId);
      if (now !== entry) changes.push({ topic, before: entry, after: now });
    }
    for (const [memberId, entry] of after) if (!before?.has(memberId)) changes.push({ topic, before: undefined, after: entry });
    this.mirror.replaceTopic(topic, after);
  }

  private rereadMembers(topic: string, memberIds: Set<string>, changes: MemberChange[]): void {
    const map = this.topics.get(topic);
    for (const memberId of memberIds) {
      const value = map instanceof Y.Map ? map.get(memberId) : undefined;
      const after = isEntry(value) ? value : undefined;
      const before = this.mirror.get(topic, memberId);
      if (before === after) continue;
      changes.push({ topic, before, after });
      if (after) this.mirror.set(topic, memberId, after);
      else this.mirror.delete(topic, memberId);
    }
  }
}
