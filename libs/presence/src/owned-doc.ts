import * as encoding from "lib0/encoding";
import * as syncProtocol from "y-protocols/sync";
import * as Y from "yjs";
import { ENTRIES_MAP, entriesDoc, type Entry } from "./entry.ts";

/** What a document contributes to the next message: a full state (replaces a replica) or an increment. */
export interface DocChange {
  full: boolean;
  /** A y-protocols sync message: sync step 2 for a full state or a diff, `update` for increments. */
  sync: Uint8Array;
}

/**
 * This node's own entries in one topic. Only this node writes the document, so replicas never
 * merge concurrent writes; Yjs gives them idempotent, order-tolerant increments.
 *
 * The entries themselves live in a plain map (local calls and their diffs are synchronous); the
 * document catches up once per flush in one transaction, so a tick's changes cost one Yjs update,
 * and a member that joins and leaves within a tick never reaches it. Every overwrite or delete in
 * the document leaves a tombstone; after enough of them the document is rotated: a fresh one (next
 * generation) carrying only the live entries replaces it everywhere.
 */
export class OwnedDoc {
  private readonly live = new Map<string, Entry>();
  /** Members whose entry changed since the document last caught up. */
  private readonly changed = new Set<string>();
  private doc!: Y.Doc;
  private map!: Y.Map<Entry>;
  private pending: Uint8Array[] = [];
  /** Whether replicas have been sent this generation's full state. */
  private announced = false;
  /** Tombstones left in the current generation. */
  private churn = 0;

  constructor(public generation: number) {
    this.reset(generation);
  }

  get size(): number {
    return this.live.size;
  }

  get tombstones(): number {
    return this.churn;
  }

  /** Nothing of it ever left this node. */
  get unannounced(): boolean {
    return !this.announced;
  }

  get(memberId: string): Entry | undefined {
    return this.live.get(memberId);
  }

  entries(): IterableIterator<Entry> {
    return this.live.values();
  }

  set(memberId: string, entry: Entry): void {
    this.live.set(memberId, entry);
    this.changed.add(memberId);
  }

  delete(memberId: string): void {
    if (this.live.delete(memberId)) this.changed.add(memberId);
  }

  /** Starts a new generation holding only the live entries: the tombstones go away. */
  rotate(generation: number): void {
    this.reset(generation);
  }

  /** Brings the document up to date and returns the change to publish, or undefined when there is none. */
  takeChange(): DocChange | undefined {
    this.catchUp();
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

  /** Sync step 2 answering a replica's state vector (a diff), or the full state without one. Call after takeChange. */
  syncStep2(stateVector?: Uint8Array): Uint8Array {
    const encoder = encoding.createEncoder();
    syncProtocol.writeSyncStep2(encoder, this.doc, stateVector);
    return encoding.toUint8Array(encoder);
  }

  /** Bytes of the encoded document: what a full state costs on the wire and, roughly, in memory. */
  encodedSize(): number {
    this.catchUp();
    return Y.encodeStateAsUpdate(this.doc).byteLength;
  }

  private catchUp(): void {
    if (this.changed.size === 0) return;
    this.doc.transact(() => {
      for (const memberId of this.changed) {
        const entry = this.live.get(memberId);
        const present = this.map.has(memberId);
        if (present) this.churn += 1;
        if (entry) this.map.set(memberId, entry);
        else if (present) this.map.delete(memberId);
      }
    });
    this.changed.clear();
  }

  private reset(generation: number): void {
    this.doc?.destroy();
    this.generation = generation;
    this.doc = entriesDoc();
    this.map = this.doc.getMap<Entry>(ENTRIES_MAP);
    this.doc.transact(() => {
      for (const [memberId, entry] of this.live) this.map.set(memberId, entry);
    });
    this.doc.on("update", (update: Uint8Array) => this.pending.push(update));
    this.changed.clear();
    this.pending = [];
    this.announced = false;
    this.churn = 0;
  }
}
