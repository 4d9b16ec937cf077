import type { Redis } from "ioredis";
import type { Logger } from "pino";

/** User meta as the channel handler gives it; the lib adds `phx_ref` (and `phx_ref_prev` after an update). */
export type Meta = Record<string, unknown>;
export type PresenceMeta = Meta & { phx_ref: string; phx_ref_prev?: string };
/** The Phoenix `presence_state` payload: key (user id) → metas, one per tracked socket. */
export type PresenceState = Record<string, { metas: PresenceMeta[] }>;
/** The Phoenix `presence_diff` payload. */
export interface PresenceDiff {
  joins: PresenceState;
  leaves: PresenceState;
}

export interface PresenceOptions {
  /** ioredis 5 command client; the lib duplicates it for its subscription and never quits it. */
  redis: Redis;
  /** This node's id; each start derives a fresh incarnation from it, so a restarted node never revives stale entries. */
  nodeId: string;
  /** Prefix of every Redis key and channel, default "sb:". */
  keyPrefix?: string;
  logger: Logger;
  /**
   * Delivers a `presence_diff` to this node's local members of `topic`. For a small topic it is
   * called synchronously inside track/update/untrack for local changes, and once per received
   * batch of remote changes. A large topic's changes (see BATCHED_DIFF_MIN_ENTRIES) arrive as one
   * diff per `diffBatchWindowMs`, or per up to DEFAULT_DIFF_HOLD_MAX_MS while the topic is in a burst
   * (BURST_CHANGES_PER_WINDOW). One diff may carry joins and leaves together, even of one member.
   */
  onDiff(topic: string, diff: PresenceDiff): void;
  /** Whether this node has members of `topic` (its diffs would reach nobody otherwise); by default every topic has. */
  hasMembers?(topic: string): boolean;
  /** Lifetime of the node's liveness key; a SIGKILLed node's entries vanish everywhere about this long (+ a check interval) after its last refresh. */
  livenessTtlMs?: number;
  /** How long local changes wait to be published together. */
  flushIntervalMs?: number;
  /** How long a large topic's changes wait to reach its members as one diff. */
  diffBatchWindowMs?: number;
}

export interface Presence {
  /** Tracks `memberId` (a socket) in `topic` under `key` (the user id); returns the new phx_ref. One entry per (topic, memberId): tracking again replaces it. */
  track(topic: string, memberId: string, key: string, meta: Meta): string;
  /** Replaces the meta: new phx_ref, `phx_ref_prev` = old one; the diff is join(new) + leave(old). No-op when not tracked. */
  update(topic: string, memberId: string, meta: Meta): void;
  untrack(topic: string, memberId: string): void;
  /** The socket closed: untracks it from every topic. */
  untrackAll(memberId: string): void;
  /**
   * Every node's entries in `topic`: keys sorted, metas in join order; what a joiner's
   * `presence_state` carries. While a large topic's diff waits for its window, every call gets the
   * state of the window's first call (one frozen object, shared): the waiting diff, which reaches
   * every member, holds what changed since. Do not mutate the result.
   */
  list(topic: string): PresenceState;
  /** Live entries held by this node, its own and replicated ones. */
  entries(): number;
  /** Encoded bytes of every Yjs document held (own and replicated): the state-size metric; costs a full encode, so not for hot paths. */
  encodedStateBytes(): number;
  /** True once subscribed and the initial state of the other nodes has arrived (or its wait timed out). */
  readonly ready: boolean;
  /** Resolves when `ready` turns true. A gateway may await it before accepting sockets so the first `presence_state` is complete. */
  whenReady(): Promise<void>;
  /** Graceful stop: tells every node to drop this node's entries, deletes the liveness key, stops timers and the subscription. */
  close(): Promise<void>;
}
