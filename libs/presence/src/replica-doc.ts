import * as decoding from "lib0/decoding";
import * as syncProtocol from "y-protocols/sync";
import * as Y from "yjs";
import { ENTRIES_MAP, isEntry, parseEntryKey, presenceDoc, type Entry } from "./entry.ts";
import { EntryTable } from "./entry-table.ts";

export interface MemberChange {
  topic: string;
  before: Entry | undefined;
  after: Entry | undefined;
}

export type ApplyResult =
  | { ok: true; changes: MemberChange[]; complete: boolean }
  | { ok: false; reason: string };

const NO_KEYS: ReadonlySet<string> = new Set();

/**
 * Another node's document (every topic of it), as replicated here. `complete` is false when an
 * update depended on one this node never received (Yjs parks it as pending): the owner must
 * resync us.
 *
 * The well-formed entries are mirrored in plain maps: they are what `list` reads, and they hold
 * an entry's previous value when an update replaces or deletes it (a deleted entry's content is
 * gone from the document).
 */
export class ReplicaDoc {
  private readonly doc = presenceDoc();
  private readonly entries = this.doc.getMap<unknown>(ENTRIES_MAP);
  private readonly mirror = new EntryTable();
  /** Keys the update being applied changed. */
  private changedKeys: ReadonlySet<string> = NO_KEYS;
  constructor(readonly generation: number) {
    this.entries.observe((event) => {
      this.changedKeys = event.keysChanged;
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
    this.changedKeys = NO_KEYS;
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
    for (const key of this.changedKeys) {
      const member = parseEntryKey(key);
      if (!member) continue;
      const value = this.entries.get(key);
      const after = isEntry(value) ? value : undefined;
      const before = this.mirror.get(member.topic, member.memberId);
      if (before === after) continue;
      changes.push({ topic: member.topic, before, after });
      if (after) this.mirror.set(member.topic, member.memberId, after);
      else this.mirror.delete(member.topic, member.memberId);
    }
    this.changedKeys = NO_KEYS;
    const store = this.doc.store;
    return { ok: true, changes, complete: store.pendingStructs === null && store.pendingDs === null };
  }

  destroy(): void {
    this.doc.destroy();
  }
}
