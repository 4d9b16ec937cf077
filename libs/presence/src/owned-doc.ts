import * as encoding from "lib0/encoding";
import * as syncProtocol from "y-protocols/sync";
import * as Y from "yjs";
import { ENTRIES_MAP, entryKey, presenceDoc, type Entry } from "./entry.ts";
import { EntryTable } from "./entry-table.ts";

/** What the document contributes to the next message: a full state (replaces a replica) or an increment. */
export interface DocChange {
  full: boolean;
  /** A y-protocols sync message: sync step 2 for a full state or a diff, `update` for increments. */
  sync: Uint8Array;
}

/**
 * This node's own entries, every topic in one document: one map of (topic, member id) → entry
 * (see ENTRIES_MAP). Only this node writes it, so replicas never merge concurrent writes; Yjs
 * gives them idempotent, order-tolerant increments. One document per node rather than per topic:
 * a Y.Doc costs about 3.5 KiB of heap before its first entry, a nested map about 1 KiB, and a
 * node with 10,000 one-member topics paid that fixed cost 10,000 times here and again in every
 * other node's replica (and the nested maps, since flattened, once more).
 *
 * The entries themselves live in plain maps (local calls and their diffs are synchronous); the
 * document catches up once per flush in one transaction, so a tick's changes cost one Yjs update,
 * and a member that joins and leaves within a tick never reaches it. Every overwrite or delete in
 * the document leaves a tombstone; after enough of them the document is rotated: a fresh one (next generation)
 * carrying only the live entries replaces it everywhere.
 */
export class OwnedDoc {
  private readonly live = new EntryTable();
  /** By document key, the entries changed since the document last caught up (undefined: removed). */
  private readonly changed = new Map<string, Entry | undefined>();
  private doc!: Y.Doc;
  private entries!: Y.Map<Entry>;
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

  /** Nothing of this generation ever left this node. */
  get unannounced(): boolean {
    return !this.announced;
  }

  get(topic: string, memberId: string): Entry | undefined {
    return this.live.get(topic, memberId);
  }

  entriesOf(topic: string): Iterable<Entry> {
    return this.live.entriesOf(topic);
  }

  sizeOf(topic: string): number {
    return this.live.sizeOf(topic);
  }

  topicNames(): Iterable<string> {
    return this.live.topicNames();
  }

  set(topic: string, memberId: string, entry: Entry): void {
    this.live.set(topic, memberId, entry);
    this.changed.set(entryKey(topic, memberId), entry);
  }

  delete(topic: string, memberId: string): void {
    if (this.live.delete(topic, memberId)) this.changed.set(entryKey(topic, memberId), undefined);
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
    const map = this.entries;
    this.doc.transact(() => {
      for (const [key, entry] of this.changed) {
        const present = map.has(key);
        if (present) this.churn += 1;
        if (entry) map.set(key, entry);
        else if (present) map.delete(key);
      }
    });
    this.changed.clear();
  }

  private reset(generation: number): void {
    this.doc?.destroy();
    this.generation = generation;
    this.doc = presenceDoc();
    const map = (this.entries = this.doc.getMap<Entry>(ENTRIES_MAP));
    this.doc.transact(() => {
      for (const [topic, entries] of this.live.all()) {
        for (const [memberId, entry] of entries) map.set(entryKey(topic, memberId), entry);
      }
    });
    this.doc.on("update", (update: Uint8Array) => this.pending.push(update));
    this.changed.clear();
    this.pending = [];
    this.announced = false;
    this.churn = 0;
  }
}
