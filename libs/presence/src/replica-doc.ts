import * as decoding from "lib0/decoding";
import * as syncProtocol from "y-protocols/sync";
import * as Y from "yjs";
import { ENTRIES_MAP, entriesDoc, isEntry, type Entry } from "./entry.ts";

export interface MemberChange {
  before: Entry | undefined;
  after: Entry | undefined;
}

export type ApplyResult =
  | { ok: true; changes: MemberChange[]; complete: boolean }
  | { ok: false; reason: string };

/**
 * Another node's entries in one topic, as replicated here. `complete` is false when an update
 * depended on one this node never received (Yjs parks it as pending): the owner must resync us.
 */
export class ReplicaDoc {
  private readonly doc = entriesDoc();
  private readonly map = this.doc.getMap<unknown>(ENTRIES_MAP);
  private collecting: MemberChange[] = [];
  /** Well-formed entries held; kept here because Y.Map's own size walks every key. */
  private live = 0;

  constructor(readonly generation: number) {
    this.map.observe((event) => {
      for (const [memberId, change] of event.changes.keys) {
        const before = isEntry(change.oldValue) ? change.oldValue : undefined;
        const value = this.map.get(memberId);
        const after = isEntry(value) ? value : undefined;
        if (before || after) this.collecting.push({ before, after });
      }
    });
  }

  get size(): number {
    return this.live;
  }

  /** Member id → entry; values that are not well-formed entries are left out. */
  entries(): Map<string, Entry> {
    const entries = new Map<string, Entry>();
    for (const [memberId, value] of this.map.entries()) if (isEntry(value)) entries.set(memberId, value);
    return entries;
  }

  encodedSize(): number {
    return Y.encodeStateAsUpdate(this.doc).byteLength;
  }

  stateVector(): Uint8Array {
    return Y.encodeStateVector(this.doc);
  }

  /** Applies a y-protocols sync step 2 or update message. */
  apply(sync: Uint8Array): ApplyResult {
    this.collecting = [];
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
    const changes = this.collecting;
    this.collecting = [];
    for (const { before, after } of changes) this.live += (after ? 1 : 0) - (before ? 1 : 0);
    const store = this.doc.store;
    return { ok: true, changes, complete: store.pendingStructs === null && store.pendingDs === null };
  }

  destroy(): void {
    this.doc.destroy();
  }
}
