import type { Logger } from "pino";
import { DiffBuilder, toPresenceState } from "./diff.ts";
import type { Entry } from "./entry.ts";
import { MIN_TOMBSTONES_BEFORE_ROTATION, SYNC_RETRY_MS } from "./limits.ts";
import { OwnedDoc } from "./owned-doc.ts";
import { createRefGenerator } from "./phx-ref.ts";
import { ReplicaDoc } from "./replica-doc.ts";
import type { Meta, PresenceDiff, PresenceState } from "./types.ts";
import { decodeMessage, encodeMessage, type DocItem, type MessageBody, type SyncWant } from "./wire.ts";

export interface EngineOptions {
  incarnation: string;
  logger: Logger;
  onDiff(topic: string, diff: PresenceDiff): void;
  /** Local changes wait for `flush()`; called when the first one arrives after a flush. */
  onDirty(): void;
  /** An owner answered a sync request of ours. */
  onSnapshot?(owner: string): void;
  now?: () => number;
}

/** The documents of one topic: this node's own and one replica per other incarnation. */
interface TopicDocs {
  owned: OwnedDoc | undefined;
  replicas: Map<string, ReplicaDoc>;
}

interface Peer {
  lastSeq: number;
  /** Topics in which a replica of this peer is held. */
  topics: Set<string>;
  /** When our unanswered sync request to it went out. */
  syncRequestedAt: number | undefined;
}

/** Distinct from every join counter value within one millisecond, see `Entry.order`. */
const JOINS_PER_MS = 1_000;

/**
 * Presence without I/O: this node's documents, the replicas of every other node's, and the
 * protocol between them. It turns local calls and received messages into `onDiff` calls and
 * messages to publish; the caller moves the bytes (Redis in production, an array in unit tests)
 * and decides when an incarnation is dead.
 */
export class PresenceEngine {
  private readonly topics = new Map<string, TopicDocs>();
  private readonly memberTopics = new Map<string, Set<string>>();
  private readonly peers = new Map<string, Peer>();
  private readonly dirty = new Set<string>();
  private readonly nextRef = createRefGenerator();
  private readonly now: () => number;
  private readonly log: Logger;
  private seq = 0;
  private generation = 0;
  private joins = 0;
  private liveEntries = 0;

  constructor(private readonly options: EngineOptions) {
    this.now = options.now ?? Date.now;
    this.log = options.logger;
  }

  get incarnation(): string {
    return this.options.incarnation;
  }

  track(topic: string, memberId: string, key: string, meta: Meta): string {
    const docs = this.topicDocs(topic);
    docs.owned ??= new OwnedDoc(this.nextGeneration());
    const before = docs.owned.get(memberId);
    this.joins += 1;
    const entry: Entry = { key, ref: this.nextRef(), order: this.now() * JOINS_PER_MS + (this.joins % JOINS_PER_MS), meta: { ...meta } };
    docs.owned.set(memberId, entry);
    if (!before) {
      this.liveEntries += 1;
      let topics = this.memberTopics.get(memberId);
      if (!topics) this.memberTopics.set(memberId, (topics = new Set()));
      topics.add(topic);
    }
    this.changedLocally(topic, before, entry);
    return entry.ref;
  }

  update(topic: string, memberId: string, meta: Meta): void {
    const owned = this.topics.get(topic)?.owned;
    const before = owned?.get(memberId);
    if (!owned || !before) return;
    const entry: Entry = { key: before.key, ref: this.nextRef(), prevRef: before.ref, order: before.order, meta: { ...meta } };
    owned.set(memberId, entry);
    this.changedLocally(topic, before, entry);
  }

  untrack(topic: string, memberId: string): void {
    const owned = this.topics.get(topic)?.owned;
    const before = owned?.get(memberId);
    if (!owned || !before) return;
    owned.delete(memberId);
    this.liveEntries -= 1;
    const topics = this.memberTopics.get(memberId);
    topics?.delete(topic);
    if (topics?.size === 0) this.memberTopics.delete(memberId);
    this.changedLocally(topic, before, undefined);
  }

  untrackAll(memberId: string): void {
    for (const topic of [...(this.memberTopics.get(memberId) ?? [])]) this.untrack(topic, memberId);
  }

  list(topic: string): PresenceState {
    const docs = this.topics.get(topic);
    if (!docs) return {};
    const entries: Entry[] = docs.owned ? [...docs.owned.entries()] : [];
    for (const replica of docs.replicas.values()) entries.push(...replica.entries().values());
    return toPresenceState(entries);
  }

  entries(): number {
    return this.liveEntries;
  }

  /** Topics with any entry held here (own or replicated). */
  topicCount(): number {
    return this.topics.size;
  }

  /** Encoded size of every document held, own and replicated (a metric; costs a full encode). */
  encodedStateBytes(): number {
    let bytes = 0;
    for (const docs of this.topics.values()) {
      bytes += docs.owned?.encodedSize() ?? 0;
      for (const replica of docs.replicas.values()) bytes += replica.encodedSize();
    }
    return bytes;
  }

  /** Other incarnations this node has heard from: the ones whose liveness must be checked. */
  remoteIncarnations(): string[] {
    return [...this.peers.keys()];
  }

  /**
   * The batched local changes since the last flush as one message, or undefined. Documents that
   * collected enough tombstones are rotated here; emptied ones are freed after their last update.
   */
  flush(): Uint8Array | undefined {
    const items: DocItem[] = [];
    for (const topic of this.dirty) {
      const docs = this.topics.get(topic);
      const owned = docs?.owned;
      if (!docs || !owned) continue;
      if (owned.size === 0) {
        const change = owned.unannounced ? undefined : owned.takeChange();
        if (change) items.push({ topic, generation: owned.generation, ...change });
        docs.owned = undefined;
        this.freeIfEmpty(topic, docs);
        continue;
      }
      if (owned.tombstones >= Math.max(MIN_TOMBSTONES_BEFORE_ROTATION, owned.size)) owned.rotate(this.nextGeneration());
      const change = owned.takeChange();
      if (change) items.push({ topic, generation: owned.generation, ...change });
    }
    this.dirty.clear();
    return items.length > 0 ? this.stamp({ kind: "changes", items }) : undefined;
  }

  heartbeat(): Uint8Array {
    return this.stamp({ kind: "heartbeat" });
  }

  /** Asks every node for its documents, sending the state vectors of the replicas held (start, or subscription back after an outage). */
  syncRequestToAll(): Uint8Array {
    const wants: SyncWant[] = [];
    for (const [owner, peer] of this.peers) wants.push(...this.wantsOf(owner, peer));
    return this.stamp({ kind: "sync-request", target: "", wants });
  }

  bye(): Uint8Array {
    return this.stamp({ kind: "bye" });
  }

  /** Handles one message from the channel; returns the messages to publish in answer. */
  receive(bytes: Uint8Array): Uint8Array[] {
    const decoded = decodeMessage(bytes);
    if (!decoded.ok) {
      this.log.warn({ reason: decoded.reason, bytes: bytes.length }, "malformed presence message dropped");
      return [];
    }
    const message = decoded.message;
    if (message.from === this.incarnation) return [];
    if (message.kind === "bye") {
      this.dropIncarnation(message.from);
      return [];
    }
    let peer = this.peers.get(message.from);
    // An incarnation first heard mid-stream (we started later, or dropped it) may hold entries we lack.
    let needsSync = peer ? message.seq !== peer.lastSeq + 1 : message.seq !== 1;
    if (!peer) this.peers.set(message.from, (peer = { lastSeq: 0, topics: new Set(), syncRequestedAt: undefined }));
    peer.lastSeq = message.seq;
    if (peer.syncRequestedAt !== undefined) needsSync = true;

    const answers: Uint8Array[] = [];
    const diffs = new Map<string, DiffBuilder>();
    switch (message.kind) {
      case "changes":
        for (const item of message.items) if (!this.applyItem(message.from, peer, item, diffs)) needsSync = true;
        break;
      case "snapshot": {
        const answersUs = message.for === this.incarnation;
        if (answersUs) peer.syncRequestedAt = undefined;
        if (answersUs || message.items.every((item) => item.full)) needsSync = false;
        for (const item of message.items) if (!this.applyItem(message.from, peer, item, diffs)) needsSync = true;
        const listed = new Set(message.items.map((item) => item.topic));
        for (const topic of [...peer.topics]) if (!listed.has(topic)) this.removeReplica(topic, message.from, peer, diffs);
        if (answersUs) this.options.onSnapshot?.(message.from);
        break;
      }
      case "sync-request":
        if (message.target === "" || message.target === this.incarnation) {
          const pending = this.flush();
          if (pending) answers.push(pending);
          answers.push(this.snapshotFor(message.from, message.wants));
        }
        break;
      case "heartbeat":
        break;
    }
    this.emitAll(diffs);
    if (needsSync) {
      const request = this.syncRequestTo(message.from, peer);
      if (request) answers.push(request);
    }
    return answers;
  }

  /** The incarnation is gone (liveness key expired, or it said goodbye): its entries leave everywhere here. */
  dropIncarnation(incarnation: string): void {
    const peer = this.peers.get(incarnation);
    if (!peer) return;
    const diffs = new Map<string, DiffBuilder>();
    for (const topic of [...peer.topics]) this.removeReplica(topic, incarnation, peer, diffs);
    this.peers.delete(incarnation);
    this.emitAll(diffs);
  }

  /**
   * Applies one document item from `owner`; false when this replica cannot be trusted any more
   * (unknown generation, a missed update, a malformed item) and the owner must resync us.
   */
  private applyItem(owner: string, peer: Peer, item: DocItem, diffs: Map<string, DiffBuilder>): boolean {
    const replica = this.topics.get(item.topic)?.replicas.get(owner);
    if (replica && replica.generation === item.generation) {
      const result = replica.apply(item.sync);
      if (!result.ok) return this.rejectItem(owner, item, result.reason);
      const diff = this.diffOf(diffs, item.topic);
      for (const { before, after } of result.changes) {
        diff.change(before, after);
        this.liveEntries += (after ? 1 : 0) - (before ? 1 : 0);
      }
      if (replica.size === 0) this.removeReplica(item.topic, owner, peer, diffs);
      return result.complete;
    }
    if (!item.full) return false;

    const fresh = new ReplicaDoc(item.generation);
    const result = fresh.apply(item.sync);
    if (!result.ok) {
      fresh.destroy();
      return this.rejectItem(owner, item, result.reason);
    }
    const oldEntries = replica?.entries() ?? new Map<string, Entry>();
    const newEntries = fresh.entries();
    const diff = this.diffOf(diffs, item.topic);
    for (const [memberId, before] of oldEntries) diff.change(before, newEntries.get(memberId));
    for (const [memberId, after] of newEntries) if (!oldEntries.has(memberId)) diff.join(after);
    this.liveEntries += newEntries.size - oldEntries.size;
    replica?.destroy();
    const docs = this.topicDocs(item.topic);
    if (newEntries.size === 0) {
      fresh.destroy();
      docs.replicas.delete(owner);
      peer.topics.delete(item.topic);
      this.freeIfEmpty(item.topic, docs);
    } else {
      docs.replicas.set(owner, fresh);
      peer.topics.add(item.topic);
    }
    return result.complete;
  }

  private rejectItem(owner: string, item: DocItem, reason: string): false {
    this.log.warn({ owner, topic: item.topic, generation: item.generation, reason }, "presence update rejected, resyncing");
    return false;
  }

  private removeReplica(topic: string, owner: string, peer: Peer, diffs: Map<string, DiffBuilder>): void {
    peer.topics.delete(topic);
    const docs = this.topics.get(topic);
    const replica = docs?.replicas.get(owner);
    if (!docs || !replica) return;
    const entries = replica.entries();
    const diff = this.diffOf(diffs, topic);
    for (const entry of entries.values()) diff.leave(entry);
    this.liveEntries -= entries.size;
    replica.destroy();
    docs.replicas.delete(owner);
    this.freeIfEmpty(topic, docs);
  }

  private snapshotFor(requester: string, wants: SyncWant[]): Uint8Array {
    const held = new Map<string, SyncWant>();
    for (const want of wants) if (want.owner === this.incarnation) held.set(want.topic, want);
    const items: DocItem[] = [];
    for (const [topic, docs] of this.topics) {
      const owned = docs.owned;
      if (!owned) continue;
      const want = held.get(topic);
      const full = want?.generation !== owned.generation;
      items.push({ topic, generation: owned.generation, full, sync: owned.syncStep2(full ? undefined : want?.stateVector) });
    }
    return this.stamp({ kind: "snapshot", for: requester, items });
  }

  private syncRequestTo(owner: string, peer: Peer): Uint8Array | undefined {
    const now = this.now();
    if (peer.syncRequestedAt !== undefined && now - peer.syncRequestedAt < SYNC_RETRY_MS) return undefined;
    peer.syncRequestedAt = now;
    this.log.debug({ owner }, "presence resync requested");
    return this.stamp({ kind: "sync-request", target: owner, wants: this.wantsOf(owner, peer) });
  }

  private wantsOf(owner: string, peer: Peer): SyncWant[] {
    const wants: SyncWant[] = [];
    for (const topic of peer.topics) {
      const replica = this.topics.get(topic)?.replicas.get(owner);
      if (replica) wants.push({ owner, topic, generation: replica.generation, stateVector: replica.stateVector() });
    }
    return wants;
  }

  private changedLocally(topic: string, before: Entry | undefined, after: Entry | undefined): void {
    if (this.dirty.size === 0) this.options.onDirty();
    this.dirty.add(topic);
    const diff = new DiffBuilder();
    diff.change(before, after);
    this.emit(topic, diff);
  }

  private topicDocs(topic: string): TopicDocs {
    let docs = this.topics.get(topic);
    if (!docs) this.topics.set(topic, (docs = { owned: undefined, replicas: new Map() }));
    return docs;
  }

  private freeIfEmpty(topic: string, docs: TopicDocs): void {
    if (!docs.owned && docs.replicas.size === 0) this.topics.delete(topic);
  }

  private diffOf(diffs: Map<string, DiffBuilder>, topic: string): DiffBuilder {
    let diff = diffs.get(topic);
    if (!diff) diffs.set(topic, (diff = new DiffBuilder()));
    return diff;
  }

  private emitAll(diffs: Map<string, DiffBuilder>): void {
    for (const [topic, diff] of diffs) this.emit(topic, diff);
  }

  private emit(topic: string, diff: DiffBuilder): void {
    if (diff.empty) return;
    try {
      this.options.onDiff(topic, diff.build());
    } catch (error) {
      this.log.error({ err: error, topic }, "presence diff delivery failed");
    }
  }

  private nextGeneration(): number {
    this.generation += 1;
    return this.generation;
  }

  private stamp(body: MessageBody): Uint8Array {
    this.seq += 1;
    return encodeMessage({ ...body, from: this.incarnation, seq: this.seq });
  }
}
