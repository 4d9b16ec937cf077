/**
 * tangram's Redis channel names: `<direction>:<topic>:<event>`. The topic may itself contain
 * colons (`to:rooms:lobby:new_msg`), the event may not: the name splits at its LAST colon.
 */
export interface TopicEvent {
  readonly topic: string;
  readonly event: string;
}

/** Backend → clients. */
export const TO_PREFIX = "to:";
/** Clients → backend. */
export const FROM_PREFIX = "from:";
/**
 * Backend → one pushing client (ours, envelope mode): `PUBLISH reply:<topic> {"socket","ref",
 * "join_ref","status","response"}` answers the push the envelope described.
 */
export const REPLY_PREFIX = "reply:";

/**
 * Topic and event carried by a channel name such as `to:a:b:c:evt`, or null when the name does
 * not start with `prefix` or leaves the topic or the event empty (`to:evt`, `to::evt`, `to:a:`).
 */
export function parseChannelName(prefix: string, name: string): TopicEvent | null {
  if (!name.startsWith(prefix)) return null;
  const rest = name.slice(prefix.length);
  const split = rest.lastIndexOf(":");
  if (split <= 0 || split === rest.length - 1) return null;
  return { topic: rest.slice(0, split), event: rest.slice(split + 1) };
}

export function channelName(prefix: string, { topic, event }: TopicEvent): string {
  return `${prefix}${topic}:${event}`;
}
