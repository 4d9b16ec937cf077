import type { Logger } from "pino";
import { DiffBuilder, changeDiff, toPresenceState } from "./diff.ts";
import type { Entry } from "./entry.ts";
import { BATCHED_DIFF_MIN_ENTRIES, BURST_CHANGES_PER_WINDOW, DEFAULT_DIFF_HOLD_MAX_MS, MIN_TOMBSTONES_BEFORE_ROTATION, SYNC_RETRY_MS } from "./limits.ts";
import { OwnedDoc } from "./owned-doc.ts";
import { createRefGenerator } from "./phx-ref.ts";
import { ReplicaDoc } from "./replica-doc.ts";
import type { Meta, PresenceDiff, PresenceState } from "./types.ts";
import { WIRE_VERSION, decodeMessage, encodeMessage, type DocItem, type MessageBody, type SyncWant } from "./wire.ts";

export interface EngineOptions {
  incarnation: string;
  logger: Logger;
  onDiff(topic: string, diff: PresenceDiff): void;
  /** Local changes wait for `flush()`; called when the first one arrives after a flush. */
  onDirty(): void;
  /** A large topic's diff waits for `emitBatches()`; called when one is started while none waits (after that, `emitBatches()` says whether some still wait). */
  onBatch(): void;
  /** An owner answered a sync request of ours. */
  onSnapshot?(owner: string): void;
  now?: () => number;
  /** Topics with at least this many entries get their diffs once per window (default BATCHED_DIFF_MIN_ENTRIES). */
  batchedDiffMinEntries?: number;
  /** Whether this node has members of `topic` to send diffs to (default: always); no diff is built for a topic without. */
  hasMembers?(topic: string): boolean;
  /** How long a topic in a burst may hold its diff past its window (default DEFAULT_DIFF_HOLD_MAX_MS; 0: every emit sends every diff). */
  diffHoldMaxMs?: number;
}

/** A large topic's diff waiting for `emitBatches()`. */
interface Batch {
  diff: DiffBuilder;
  startedAt: number;
  /** Changes since the last `emitBatches()`: whether the topic is in a burst. */
  changesInWindow: number;
}

interface Peer {
  lastSeq: number;
  /** When our unanswered sync request to it went out. */
  syncRequestedAt: number | undefined;
}

function deepFreeze(state: PresenceState): PresenceState {
  for (const presence of Object.values(state)) {
    for (const meta of presence.metas) Object.freeze(meta);
    Object.freeze(presence.metas);
    Object.freeze(presence);
  }
  return Object.freeze(state);
}

/** Distinct from every join counter value within one millisecond, see `Entry.order`. */
const JOINS_PER_MS = 1_000;

/**
 * Presence without I/O: this node's document, one replica per other node's, and the protocol
 * between them. It turns local calls and received messages into `onDiff` calls and messages to
 * publish; the caller moves the bytes (Redis in production, an array in unit tests) and decides
 * when an incarnation is dead.
 *
 * Diffs of a small topic go out at once, one per local change (as Phoenix.Presence sends them:
 * the joiner gets its own join before its `presence_state`) and one per received message. A
 * topic with `batchedDiffMinEntries` entries or more collects its changes, local and received,
 * into one diff sent by `emitBatches()` (the caller's batch window): every change would otherwise
 * be a frame to every member, O(n²) frames when n members join. Once a topic's batch exists,
 * every change of the topic joins it until it is sent, so no diff overtakes an earlier one.
 */
export class PresenceEngine {
  private readonly owned: OwnedDoc;
  private readonly replicas = new Map<string, ReplicaDoc>();
  private readonly memberTopics = new Map<string, Set<string>>();
  private readonly peers = new Map<string, Peer>();
  /** Wire versions of other releases seen on the channel (logged once each). */
  private readonly foreignVersions = new Set<number>();
  private readonly nextRef = createRefGenerator();
  private readonly now: () => number;
  private readonly batchedDiffMinEntries: number;
  private readonly diffHoldMaxMs: number;
  private readonly batches = new Map<string, Batch>();
  /** Per topic with a diff waiting, the state `list` has shown since the diff was started. */
  private readonly shownStates = new Map<string, PresenceState>();
  private readonly log: Logger;
  /**
   * The last small-topic join made here and the state its diff carried. A joiner's
   * `presence_state` follows its track at once (Phoenix apps track, then push the list), and while
   * that entry is its topic's only one the state is the same: built once, not twice.
   */
  private lastJoin: { topic: string; memberId: string; entry: Entry; state: PresenceState } | undefined;
  private dirty = false;
  private seq = 0;
  private generation = 0;
  private joins = 0;
  private liveEntries = 0;

  constructor(private readonly options: EngineOptions) {
    this.now = options.now ?? Date.now;
    this.batchedDiffMinEntries = options.batchedDiffMinEntries ?? BATCHED_DIFF_MIN_ENTRIES;
    this.diffHoldMaxMs = options.diffHoldMaxMs ?? DEFAULT_DIFF_HOLD_MAX_MS;
    this.log = options.logger;
    this.owned = new OwnedDoc(this.nextGeneration());
  }

  get incarnation(): string {
    return this.options.incarnation;
  }

  track(topic: string, memberId: string, key: string, meta: Meta): string {
    const before = this.owned.get(topic, memberId);
    this.joins += 1;
    const entry: Entry = { key, ref: this.nextRef(), order: this.now() * JOINS_PER_MS + (this.joins % JOINS_PER_MS), meta: { ...meta } };
    this.owned.set(topic, memberId, entry);
    if (!before) {
      this.liveEntries += 1;
      let topics = this.memberTopics.get(memberId);
      if (!topics) this.memberTopics.set(memberId, (topics = new Set()));
      topics.add(topic);
    }
    this.changedLocally(topic, memberId, before, entry);
    return entry.ref;
  }

  update(topic: string, memberId: string, meta: Meta): void {
    const before = this.owned.get(topic, memberId);
    if (!before) return;
    const entry: Entry = { key: before.key, ref: this.nextRef(), prevRef: before.ref, order: before.order, meta: { ...meta } };
    this.owned.set(topic, memberId, entry);
    this.changedLocally(topic, memberId, before, entry);
  }

  untrack(topic: string, memberId: string): void {
    const before = this.owned.get(topic, memberId);
    if (!before) return;
    this.owned.delete(topic, memberId);
    this.liveEntries -= 1;
    const topics = this.memberTopics.get(memberId);
    topics?.delete(topic);
    if (topics?.size === 0) this.memberTopics.delete(memberId);
    this.changedLocally(topic, memberId, before, undefined);
  }

  untrackAll(memberId: string): void {
    for (const topic of [...(this.memberTopics.get(memberId) ?? [])]) this.untrack(topic, memberId);
  }

  /**
   * A large topic with a diff waiting gives every caller until that diff is sent one state, built
   * at the first call (frozen: it is shared): the waiting diff holds every change made since, and
   * reaches every member, the new ones included. Building and encoding the whole member list was
   * most of a join's cost in a large topic, once per joiner.
   */
  list(topic: string): PresenceState {
    const batch = this.batches.get(topic);
    if (!batch) return this.currentState(topic);
    let shown = this.shownStates.get(topic);
    if (!shown) {
      batch.diff.listed();
      this.shownStates.set(topic, (shown = deepFreeze(this.currentState(topic))));
    }
    return shown;
  }

  entries(): number {
    return this.liveEntries;
  }

  /** Topics with any entry held here (own or replicated). */
  topicCount(): number {
    const topics = new Set(this.owned.topicNames());
    for (const replica of this.replicas.values()) for (const topic of replica.topicNames()) topics.add(topic);
    return topics.size;
  }

  /** Encoded size of every document held, own and replicated (a metric; costs a full encode). */
  encodedStateBytes(): number {
    let bytes = this.owned.encodedSize();
    for (const replica of this.replicas.values()) bytes += replica.encodedSize();
    return bytes;
  }

  /** Other incarnations this node has heard from: the ones whose liveness must be checked. */
  remoteIncarnations(): string[] {
    return [...this.peers.keys()];
  }

  /**
   * The batched local changes since the last flush as one message, or undefined. The document is
   * rotated here once it collected enough tombstones.
   */
  flush(): Uint8Array | undefined {
    if (!this.dirty) return undefined;
    this.dirty = false;
    const owned = this.owned;
    // Tracked and untracked within ticks before anything was announced: nothing to tell.
    if (owned.unannounced && owned.size === 0) return undefined;
    if (owned.tombstones >= Math.max(MIN_TOMBSTONES_BEFORE_ROTATION, owned.size)) owned.rotate(this.nextGeneration());
    const change = owned.takeChange();
    return change ? this.stamp({ kind: "changes", items: [{ generation: owned.generation, ...change }] }) : undefined;
  }

  /**
   * The caller's batch window ended: sends the large topics' waiting diffs (one `onDiff` per
   * topic), except those of topics in a burst (`BURST_CHANGES_PER_WINDOW` changes in the window)
   * for less than `diffHoldMaxMs`: they wait another window, and their joiners keep getting the
   * state shown so far. Returns whether any diff still waits.
   */
  emitBatches(): boolean {
    const now = this.now();
    for (const [topic, batch] of this.batches) {
      if (batch.changesInWindow >= BURST_CHANGES_PER_WINDOW && now - batch.startedAt < this.diffHoldMaxMs) {
        batch.changesInWindow = 0;
        continue;
      }
      this.batches.delete(topic);
      this.shownStates.delete(topic);
      this.emit(topic, batch.diff);
    }
    return this.batches.size > 0;
  }

  heartbeat(): Uint8Array {
    return this.stamp({ kind: "heartbeat" });
  }

  /** Asks every node for its document, sending the state vectors of the replicas held (start, or subscription back after an outage). */
  syncRequestToAll(): Uint8Array {
    const wants: SyncWant[] = [];
    for (const owner of this.peers.keys()) wants.push(...this.wantsOf(owner));
    return this.stamp({ kind: "sync-request", target: "", wants });
  }

  /**
   * During a rolling upgrade across a wire version change, nodes of the two releases cannot read
   * each other's presence; said once per version, not once per message (heartbeats alone would
   * be several a second).
   */
  private noteForeignVersion(version: number): void {
    if (this.foreignVersions.has(version)) return;
    this.foreignVersions.add(version);
    this.log.warn({ version, ours: WIRE_VERSION }, "presence messages of another wire version ignored: nodes of another release do not share presence with this one until every node runs the same");
  }

  bye(): Uint8Array {
    return this.stamp({ kind: "bye" });
  }

  /** Handles one message from the channel; returns the messages to publish in answer. */
  receive(bytes: Uint8Array): Uint8Array[] {
    const decoded = decodeMessage(bytes);
    if (!decoded.ok) {
      if (decoded.foreignVersion === undefined) this.log.warn({ reason: decoded.reason, bytes: bytes.length }, "malformed presence message dropped");
      else this.noteForeignVersion(decoded.foreignVersion);
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
    if (!peer) this.peers.set(message.from, (peer = { lastSeq: 0, syncRequestedAt: undefined }));
    peer.lastSeq = message.seq;
    if (peer.syncRequestedAt !== undefined) needsSync = true;

    const answers: Uint8Array[] = [];
    const diffs = new Map<string, DiffBuilder>();
    switch (message.kind) {
      case "changes":
        for (const item of message.items) if (!this.applyItem(message.from, item, diffs)) needsSync = true;
        break;
      case "snapshot": {
        const answersUs = message.for === this.incarnation;
        if (answersUs) peer.syncRequestedAt = undefined;
        if (answersUs || message.items.every((item) => item.full)) needsSync = false;
        for (const item of message.items) if (!this.applyItem(message.from, item, diffs)) needsSync = true;
        // An owner answers with its document; none at all means it holds nothing.
        if (message.items.length === 0) this.removeReplica(message.from, diffs);
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
    this.emitReceived(diffs);
    if (needsSync) {
      const request = this.syncRequestTo(message.from, peer);
      if (request) answers.push(request);
    }
    return answers;
  }

  /** The incarnation is gone (liveness key expired, or it said goodbye): its entries leave everywhere here. */
  dropIncarnation(incarnation: string): void {
    if (!this.peers.has(incarnation)) return;
    const diffs = new Map<string, DiffBuilder>();
    this.removeReplica(incarnation, diffs);
    this.peers.delete(incarnation);
    this.emitReceived(diffs);
  }

  /**
   * Applies one document item from `owner`; false when this replica cannot be trusted any more
   * (unknown generation, a missed update, a malformed item) and the owner must resync us.
   */
  private applyItem(owner: string, item: DocItem, diffs: Map<string, DiffBuilder>): boolean {
    const replica = this.replicas.get(owner);
    if (replica && replica.generation === item.generation) {
      const result = replica.apply(item.sync);
      if (!result.ok) return this.rejectItem(owner, item, result.reason);
      for (const { topic, before, after } of result.changes) {
        if (this.diffWanted(topic)) this.diffOf(diffs, topic).change(before, after);
        this.liveEntries += (after ? 1 : 0) - (before ? 1 : 0);
      }
      return result.complete;
    }
    if (!item.full) return false;

    const fresh = new ReplicaDoc(item.generation);
    const result = fresh.apply(item.sync);
    if (!result.ok) {
      fresh.destroy();
      return this.rejectItem(owner, item, result.reason);
    }
    const oldTopics = replica?.all() ?? new Map<string, ReadonlyMap<string, Entry>>();
    const newTopics = fresh.all();
    for (const [topic, oldEntries] of oldTopics) {
      const diff = this.diffOf(diffs, topic);
      const newEntries = newTopics.get(topic);
      for (const [memberId, before] of oldEntries) diff.change(before, newEntries?.get(memberId));
    }
    for (const [topic, newEntries] of newTopics) {
      const oldEntries = oldTopics.get(topic);
      const diff = this.diffOf(diffs, topic);
      for (const [memberId, after] of newEntries) if (!oldEntries?.has(memberId)) diff.join(after);
    }
    this.liveEntries += fresh.size - (replica?.size ?? 0);
    replica?.destroy();
    this.replicas.set(owner, fresh);
    return result.complete;
  }

  private rejectItem(owner: string, item: DocItem, reason: string): false {
    this.log.warn({ owner, generation: item.generation, reason }, "presence update rejected, resyncing");
    return false;
  }

  private removeReplica(owner: string, diffs: Map<string, DiffBuilder>): void {
    const replica = this.replicas.get(owner);
    if (!replica) return;
    for (const [topic, entries] of replica.all()) {
      const diff = this.diffOf(diffs, topic);
      for (const entry of entries.values()) diff.leave(entry);
    }
    this.liveEntries -= replica.size;
    replica.destroy();
    this.replicas.delete(owner);
  }

  private snapshotFor(requester: string, wants: SyncWant[]): Uint8Array {
    const want = wants.find((candidate) => candidate.owner === this.incarnation);
    const owned = this.owned;
    const full = want?.generation !== owned.generation;
    const item: DocItem = { generation: owned.generation, full, sync: owned.syncStep2(full ? undefined : want?.stateVector) };
    return this.stamp({ kind: "snapshot", for: requester, items: [item] });
  }

  private syncRequestTo(owner: string, peer: Peer): Uint8Array | undefined {
    const now = this.now();
    if (peer.syncRequestedAt !== undefined && now - peer.syncRequestedAt < SYNC_RETRY_MS) return undefined;
    peer.syncRequestedAt = now;
    this.log.debug({ owner }, "presence resync requested");
    return this.stamp({ kind: "sync-request", target: owner, wants: this.wantsOf(owner) });
  }

  private wantsOf(owner: string): SyncWant[] {
    const replica = this.replicas.get(owner);
    return replica ? [{ owner, generation: replica.generation, stateVector: replica.stateVector() }] : [];
  }

  private changedLocally(topic: string, memberId: string, before: Entry | undefined, after: Entry | undefined): void {
    if (!this.dirty) {
      this.dirty = true;
      this.options.onDirty();
    }
    const batch = this.batchOf(topic);
    if (batch) {
      batch.changesInWindow += 1;
      return batch.diff.change(before, after, true);
    }
    if (this.options.hasMembers?.(topic) === false) return;
    const diff = changeDiff(before, after);
    this.lastJoin = after ? { topic, memberId, entry: after, state: diff.joins } : undefined;
    this.deliver(topic, diff);
  }

  /** The topic's waiting diff, started if the topic is large; undefined for a small topic without one. */
  private batchOf(topic: string): Batch | undefined {
    let batch = this.batches.get(topic);
    if (batch || this.entriesIn(topic) < this.batchedDiffMinEntries) return batch;
    if (this.batches.size === 0) this.options.onBatch();
    this.batches.set(topic, (batch = { diff: new DiffBuilder(), startedAt: this.now(), changesInWindow: 0 }));
    return batch;
  }

  private currentState(topic: string): PresenceState {
    const last = this.lastJoin;
    if (last?.topic === topic && this.owned.get(topic, last.memberId) === last.entry && this.entriesIn(topic) === 1) return last.state;
    const entries: Entry[] = [...this.owned.entriesOf(topic)];
    for (const replica of this.replicas.values()) entries.push(...replica.entriesOf(topic));
    return toPresenceState(entries);
  }

  private entriesIn(topic: string): number {
    let count = this.owned.sizeOf(topic);
    for (const replica of this.replicas.values()) count += replica.sizeOf(topic);
    return count;
  }

  private diffOf(diffs: Map<string, DiffBuilder>, topic: string): DiffBuilder {
    let diff = diffs.get(topic);
    if (!diff) diffs.set(topic, (diff = new DiffBuilder()));
    return diff;
  }

  /**
   * Every node holds every topic, so most received changes are of topics without members here:
   * no diff, and no batch, for those (a waiting batch takes them all the same: a member joining
   * before it is sent relies on it).
   */
  private diffWanted(topic: string): boolean {
    return this.batches.has(topic) || this.options.hasMembers?.(topic) !== false;
  }

  /** Received changes: a large topic's go into its batch. */
  private emitReceived(diffs: Map<string, DiffBuilder>): void {
    for (const [topic, diff] of diffs) {
      if (diff.empty || !this.diffWanted(topic)) continue;
      const batch = this.batchOf(topic);
      if (!batch) this.emit(topic, diff);
      else {
        batch.changesInWindow += diff.changes;
        batch.diff.merge(diff);
      }
    }
  }

  private emit(topic: string, diff: DiffBuilder): void {
    if (diff.empty || this.options.hasMembers?.(topic) === false) return;
    this.deliver(topic, diff.build());
  }

  private deliver(topic: string, diff: PresenceDiff): void {
    try {
      this.options.onDiff(topic, diff);
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
