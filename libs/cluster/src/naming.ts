/**
 * Every Redis channel, key and adapter room name the cluster uses, in one place.
 *
 * Rooms: a topic and a member each get a room in the adapter, with distinct prefixes so that no
 * Phoenix topic can ever name a member's room (`t:` topics, `m:` members).
 *
 * The sharded adapter in `dynamic` mode takes any room name of exactly 20 characters for a socket
 * id (engine.io ids are 20 long) and publishes to it on the shared namespace channel, which every
 * node receives. So no room name here is 20 characters long: where `t:` + name would be, the
 * prefix becomes `t+:` (21). The second character (`:` or `+`) keeps the two forms apart, so the
 * mapping stays one-to-one and reversible.
 */
const ADAPTER_SOCKET_ID_LENGTH = 20;

type RoomKind = "t" | "m";

function roomName(kind: RoomKind, name: string): string {
  const plain = `${kind}:${name}`;
  return plain.length === ADAPTER_SOCKET_ID_LENGTH ? `${kind}+:${name}` : plain;
}

function nameFromRoom(kind: RoomKind, room: string): string | undefined {
  if (room.startsWith(`${kind}:`)) return room.slice(2);
  if (room.startsWith(`${kind}+:`)) return room.slice(3);
  return undefined;
}

export function topicRoom(topic: string): string {
  return roomName("t", topic);
}

export function memberRoom(memberId: string): string {
  return roomName("m", memberId);
}

export function topicOfRoom(room: string): string | undefined {
  return nameFromRoom("t", room);
}

export function memberOfRoom(room: string): string | undefined {
  return nameFromRoom("m", room);
}

/** `topicOfRoom(room) !== undefined` without slicing the name out: asked once per broadcast. */
export function isTopicRoom(room: string): boolean {
  return room.charCodeAt(0) === TOPIC_KIND && isSeparator(room.charCodeAt(1));
}

/**
 * Whether a channel's name has a room name (either kind) from `offset` on, read in the raw bytes
 * every received message comes with. The adapter's other channels have none there: its namespace
 * channel ends before it, its response channel has the adapter's uid (hex digits).
 */
export function hasRoomAt(channel: Buffer, offset: number): boolean {
  const kind = channel[offset];
  return (kind === TOPIC_KIND || kind === MEMBER_KIND) && isSeparator(channel[offset + 1]);
}

function isSeparator(code: number | undefined): boolean {
  return code === PLAIN_SEPARATOR || code === LENGTHENED_SEPARATOR;
}

const TOPIC_KIND = "t".charCodeAt(0);
const MEMBER_KIND = "m".charCodeAt(0);
const PLAIN_SEPARATOR = ":".charCodeAt(0);
const LENGTHENED_SEPARATOR = "+".charCodeAt(0);

export const DEFAULT_KEY_PREFIX = "sb:";

/** The adapter runs on one namespace of its own; the name only appears inside channel names. */
export const NAMESPACE = "/";

export interface RedisNames {
  /** The adapter's `channelPrefix`: its channels are `<prefix>#/#` and `<prefix>#/#<room>#`. */
  readonly adapterChannelPrefix: string;
  /** Sorted set of registered node ids, scored by last heartbeat (ms). */
  readonly nodeIndex: string;
  nodeKey(nodeId: string): string;
}

export function redisNames(keyPrefix: string): RedisNames {
  return {
    adapterChannelPrefix: `${keyPrefix}cluster`,
    nodeIndex: `${keyPrefix}nodes`,
    nodeKey: (nodeId) => `${keyPrefix}node:${nodeId}`,
  };
}
