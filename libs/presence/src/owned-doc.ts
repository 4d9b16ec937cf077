import * as encoding from "lib0/encoding";
import * as syncProtocol from "y-protocols/sync";
import * as Y from "yjs";
import { ENTRIES_MAP, type Entry } from "./entry.ts";

/** What a document contributes to the next message: a full state (replaces a replica) or an increment. */
export interface DocChange {
  full: boolean;
  /** A y-protocols sync message: sync step 2 for a full state or a diff, `update` for increments. */
  sync: Uint8Array;
}

/**
 * This node's own entries in one topic. Only this node writes it, so replicas never merge
 * concurrent writes; Yjs gives them idempotent, order-tolerant increments. Every overwrite or
 * delete leaves a tombstone, so after enough churn the document is rotated: a fresh document
 * (next generation) carrying only the live entries replaces it everywhere.
 */
export class OwnedDoc {
  private doc!: Y.Doc;
  private map!: Y.Map<Entry>;
  private pending: Uint8Array[] = [];
  /** Whether replicas have been sent this generation's full state. */
  private announced = false;
  /** Tombstones left in the current generation. */
  private churn = 0;
  /** Kept here because Y.Map's own size walks every key. */
  private live = 0;

  constructor(public generation: number) {
    this.reset(generation, []);
  }

  get size(): number {
    return this.live;
  }

  get tombstones(): number {
    return this.churn;
  }

  /** Nothing of it ever left this node. */
  get unannounced(): boolean {
    return !this.announced;
  }

  get(memberId: string): Entry | undefined {
    return this.map.get(memberId);
  }

  entries(): IterableIterator<Entry> {
    return this.map.values();
  }

  set(memberId: string, entry: Entry): void {
    if (this.map.has(memberId)) this.churn += 1;
    else this.live += 1;
    this.map.set(memberId, entry);
  }

  delete(memberId: string): void {
    if (!this.map.has(memberId)) return;
    this.churn += 1;
    this.live -= 1;
    this.map.delete(memberId);
  }

  /** Starts a new generation holding only the live entries: the tombstones go away. */
  rotate(generation: number): void {
    this.reset(generation, [...this.map.entries()]);
  }

  /** The change to publish since the last call, or undefined when there is none. */
  takeChange(): DocChange | undefined {
    if (!this.announced) {
      this.announced = true;
      this.pending = [];
      return { full: true, sync: this.syncStep2() };
    }
    if (this.pending.length === 0) return undefined;
    const update = this.pending.length === 1 ? this.pending[0]! : Y.mergeUpdates(this.pending);
    this.pending = [];
    const encoder = encoding.createEncoder();
    syncProtocol.writeUpdate(encoder, update);
    return { full: false, sync: encoding.toUint8Array(encoder) };
  }

  /** Bytes of the encoded document: what a full state costs on the wire and, roughly, in memory. */
  encodedSize(): number {
    return Y.encodeStateAsUpdate(this.doc).byteLength;
  }

  /** Sync step 2 answering a replica's state vector (a diff), or the full state without one. */
  syncStep2(stateVector?: Uint8Array): Uint8Array {
    const encoder = encoding.createEncoder();
    syncProtocol.writeSyncStep2(encoder, this.doc, stateVector);
    return encoding.toUint8Array(encoder);
  }

  private reset(generation: number, entries: Array<[string, Entry]>): void {
    this.doc?.destroy();
    this.generation = generation;
    this.doc = new Y.Doc();
    this.map = this.doc.getMap<Entry>(ENTRIES_MAP);
    this.doc.transact(() => {
      for (const [memberId, entry] of entries) this.map.set(memberId, entry);
    });
    this.doc.on("update", (update: Uint8Array) => this.pending.push(update));
    this.pending = [];
    this.announced = false;
    this.churn = 0;
    this.live = entries.length;
  }
}
