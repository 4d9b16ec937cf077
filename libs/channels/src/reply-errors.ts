/**
 * Reasons the socket sends in `{"status":"error","response":{"reason":..}}` replies. The socket
 * stays open after each of these: they answer one join or one push. Phoenix's own wording is kept
 * where Phoenix has one (`unmatched topic`, `join crashed`), so clients written against Phoenix
 * match on the same strings.
 */
export const ReplyError = {
  /** No route for the topic, or a push to a topic this socket has not joined. */
  UNMATCHED_TOPIC: "unmatched topic",
  /** The join handler threw. */
  JOIN_CRASHED: "join crashed",
  /** The socket already holds the configured maximum of channels. */
  TOO_MANY_CHANNELS: "too many channels",
  /** Topic longer than the configured maximum (also the V2 binary frame limit of 255 bytes). */
  TOPIC_TOO_LONG: "topic too long",
  /** Event name longer than the configured maximum. */
  EVENT_TOO_LONG: "event too long",
  /** The socket pushes faster than its configured rate. */
  RATE_LIMITED: "rate limited",
} as const;

export type ReplyError = (typeof ReplyError)[keyof typeof ReplyError];
