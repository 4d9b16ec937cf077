import type { Payload, Ref } from "@switchboard/protocol";
import type { Meta, PresenceState } from "./ports.ts";

/** What a handler sees of the socket: set once at connect, shared by all its channels. */
export interface SocketInfo {
  readonly id: string;
  readonly transport: string;
  readonly params: Readonly<Record<string, string>>;
  readonly assigns: Readonly<Record<string, unknown>>;
}

/** One joined channel, as handlers use it (Phoenix's `socket` inside a channel module). */
export interface Channel {
  readonly topic: string;
  readonly joinRef: string | null;
  readonly socket: SocketInfo;
  /** Per-channel state the handler owns (Phoenix's channel assigns). */
  readonly assigns: Record<string, unknown>;
  /** Server push to this socket only: `[join_ref, null, topic, event, payload]`. */
  push(event: string, payload: Payload): void;
  /** To every subscriber of the topic on every node, this socket included. Resolves once delivered locally. */
  broadcast(event: string, payload: Payload): Promise<void>;
  /** Like broadcast, skipping this socket (Phoenix's `broadcast_from`). */
  broadcastFrom(event: string, payload: Payload): Promise<void>;
  readonly presence: ChannelPresence;
}

export interface ChannelPresence {
  /**
   * Tracks this socket under `key`; the joiner and every subscriber get a `presence_diff`. Returns
   * the phx_ref, or undefined when the channel is already gone (left, crashed, replaced by a
   * duplicate join, or its socket closed): nothing is tracked then.
   */
  track(key: string, meta: Meta): string | undefined;
  update(meta: Meta): void;
  untrack(): void;
  /** What `presence_state` carries; in a large topic it may lag by one diff window (the diff follows). Do not mutate it. */
  list(): PresenceState;
}

/** `assigns` seeds the channel's own assigns (Phoenix: `{:ok, reply, assign(socket, ...)}`). */
/** The client push a `handleIn` call handles. */
export interface PushContext {
  /** The push's ref: the one a `phx_reply` to it must carry. */
  readonly ref: Ref;
}

export type JoinResult = { ok: Payload; assigns?: Record<string, unknown> } | { error: Payload };
export type InResult = { reply: "ok" | "error"; response: Payload } | { noreply: true };

/**
 * A channel module, in the spirit of Phoenix.Channel. Every callback may be async; a throw in
 * `handleIn`/`handleOut` crashes this channel only (the client gets `phx_error` and rejoins),
 * a throw in `join` answers the join with `join crashed`.
 */
export interface ChannelHandler {
  join(topic: string, payload: Payload, socket: SocketInfo): JoinResult | Promise<JoinResult>;
  /** Runs after the join reply went out: where Phoenix apps track presence and push state. */
  afterJoin?(channel: Channel): void | Promise<void>;
  /** `push` names the client push being handled, for handlers that answer it later (envelopes). */
  handleIn?(event: string, payload: Payload, channel: Channel, push: PushContext): InResult | Promise<InResult>;
  /** Broadcast events routed through `handleOut` per subscriber instead of the shared frame. */
  readonly intercept?: readonly string[];
  /** Returns the payload to push, or `null` to drop the event for this subscriber. */
  handleOut?(event: string, payload: Payload, channel: Channel): Payload | null;
  terminate?(reason: TerminateReason, channel: Channel): void;
}

export type TerminateReason = "leave" | "closed" | "crash" | "duplicate_join";

export const ok = (response: Payload = {}, assigns?: Record<string, unknown>): JoinResult =>
  assigns ? { ok: response, assigns } : { ok: response };
export const error = (response: Payload): { error: Payload } => ({ error: response });
export const reply = (status: "ok" | "error", response: Payload = {}): InResult => ({ reply: status, response });
export const noreply: InResult = { noreply: true };
