import type { Broadcast, Payload } from "@switchboard/protocol";
import type { TerminateReason } from "./handler.ts";

/**
 * What the channel layer needs from the rest of the node. The gateway implements these with
 * libs/cluster and libs/presence; this lib never talks to Redis itself.
 */
export interface Fanout {
  subscribe(socketId: string, topic: string): void;
  unsubscribe(socketId: string, topic: string): void;
  broadcast(broadcast: Broadcast, options?: { exceptMemberId?: string }): Promise<void>;
  /** Resolves once every subscribe made so far receives broadcasts from every node (recovery reads history only after that). */
  subscriptionsSettled?(): Promise<void>;
}

/** A broadcast replayed from history, with the id it carried live. */
export interface RecoveredMessage {
  readonly id: string;
  readonly event: string;
  readonly payload: Payload;
}

/**
 * Missed-message recovery (libs/history implements it). A join whose params carry
 * `{"last_seen": id}` on a recorded topic gets what followed that id before any live broadcast.
 */
export interface HistoryReader {
  records(topic: string): boolean;
  since(topic: string, lastSeen: string): Promise<{ recovered: true; messages: readonly RecoveredMessage[] } | { recovered: false }>;
  /** Entries after `id` whether or not `id` is still held (catch-up after an outage). */
  after(topic: string, id: string): Promise<readonly RecoveredMessage[]>;
  /** History order: whether `id` was written after `than`. */
  isAfter(id: string, than: string): boolean;
  /** A bound for `after` that takes in everything written from `timeMs` on. */
  idBefore(timeMs: number): string;
}

export type Meta = Record<string, unknown>;
export type PresenceState = Record<string, { metas: Array<Meta & { phx_ref: string }> }>;

export interface PresenceTracker {
  track(topic: string, socketId: string, key: string, meta: Meta): string;
  update(topic: string, socketId: string, meta: Meta): void;
  untrack(topic: string, socketId: string): void;
  list(topic: string): PresenceState;
}

/** Counters the gateway maps onto metrics; every hook is optional and must not throw. */
export interface ChannelEvents {
  joined?(topic: string, socketId: string): void;
  joinRefused?(topic: string, reason: string): void;
  /** Every way a channel ends: leave, socket closed, crash, replaced by a duplicate join. */
  left?(topic: string, socketId: string, reason: TerminateReason): void;
  crashed?(topic: string, error: unknown): void;
  malformed?(code: string): void;
  staleJoinRef?(topic: string): void;
  rateLimited?(): void;
  pushed?(topic: string, event: string): void;
}
