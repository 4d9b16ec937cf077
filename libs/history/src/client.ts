import { isHistoryId } from "./history-id.ts";

/**
 * Browser-side helper for the stock phoenix.js client (no import of phoenix, no Node API).
 *
 * Broadcasts on recovery topics carry their history id in the frame's `ref` slot, which
 * phoenix.js hands to `channel.on` callbacks as the second argument and to `Channel.onMessage`.
 * This helper remembers the newest id and offers channel params as a function, which phoenix.js
 * calls on every (re)join, so a rejoin asks for `{"last_seen": id}`: the server then replays what
 * the socket missed before any live message, or answers the join with `recovered: false` when
 * its history no longer covers the gap (reload state from the app's own source then).
 *
 *   const recovery = trackLastSeen({ user: "ada" });
 *   const channel = recovery.attach(socket.channel("rooms:lobby", recovery.params));
 *   channel.join().receive("ok", (reply) => { if (reply.recovered === false) reloadFromServer(); });
 *
 * Binary broadcasts have no id (the V2 binary frame has no ref for server pushes) and are never
 * replayed.
 */
export interface LastSeenTracker {
  /** Pass as the channel params: the base params plus `last_seen` once an id was seen. */
  readonly params: () => Record<string, unknown>;
  /** Wraps the channel's `onMessage` hook to record ids; returns the channel. */
  attach<C extends MessageHook>(channel: C): C;
  lastSeen(): string | undefined;
}

/** The part of phoenix.js's Channel this helper uses (its documented, overridable hook). */
export interface MessageHook {
  onMessage(event: string, payload: unknown, ref?: unknown, joinRef?: unknown): unknown;
}

const REPLY_EVENT = "phx_reply";

export function trackLastSeen(baseParams: Record<string, unknown> = {}): LastSeenTracker {
  let lastSeen: string | undefined;
  return {
    params: () => (lastSeen === undefined ? { ...baseParams } : { ...baseParams, last_seen: lastSeen }),
    attach(channel) {
      const original = channel.onMessage.bind(channel);
      channel.onMessage = (event, payload, ref, joinRef) => {
        if (event !== REPLY_EVENT && isHistoryId(ref)) lastSeen = ref;
        return original(event, payload, ref, joinRef);
      };
      return channel;
    },
    lastSeen: () => lastSeen,
  };
}
