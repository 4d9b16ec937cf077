import { createShardedAdapter } from "@socket.io/redis-adapter";
import type { Redis } from "ioredis";
import { Adapter as InMemoryAdapter, MessageType } from "socket.io-adapter";
import { broadcastDecoder } from "./broadcast-decode.ts";
import type { AdapterPacket } from "./envelope.ts";
import type { DeliveryEncoder, MemberSocket } from "./delivery.ts";
import { hasRoomAt, isTopicRoom, memberOfRoom, memberRoom, NAMESPACE } from "./naming.ts";
import { publishCommands, type PublishAnswer, type PublishCommands } from "./publish-command.ts";
import { isSet, valuesOf } from "./one-or-set.ts";
import type { RoomTable } from "./room-table.ts";
import { batchWritesPerTick } from "./tick-writes.ts";

/**
 * The sharded redis-adapter (pinned 8.3.0, on socket.io-adapter 2.5.8) run without a socket.io
 * Server. Everything this lib relies on beyond the adapter's documented surface is here:
 * the namespace-like object it is given, and the internals typed below.
 */

/** What the adapter reads from its namespace. */
export interface AdapterNamespace {
  readonly name: string;
  readonly sockets: Map<string, MemberSocket>;
  readonly server: { readonly encoder: DeliveryEncoder; readonly opts: Record<string, never> };
  adapter?: ShardedAdapter;
  /** Counter for broadcasts with acknowledgements, which this lib never sends. */
  _ids: number;
  /** `serverSideEmit` from another node: [name, ...args, ack?]. */
  _onServerSideEmit(args: unknown[]): void;
}

interface RoomOptions {
  rooms: Set<string>;
  except: Set<string>;
  flags: Record<string, never>;
}

interface ClusterBroadcastMessage {
  uid: string;
  nsp: string;
  type: MessageType.BROADCAST;
  data: { packet: AdapterPacket; opts: { rooms: string[]; except: string[]; flags: Record<string, never> } };
}

/** The parts of ShardedRedisAdapter (and its ClusterAdapter/in-memory bases) used here. */
export interface ShardedAdapter {
  readonly uid: string;
  /** The in-memory room walk: calls `visit` once per local socket of the rooms, skipping `except`. */
  apply(options: RoomOptions, visit: (socket: MemberSocket) => void): void;
  /** The ids of the local members in `exceptRooms`, for the walk to skip. */
  computeExceptSids(exceptRooms: Set<string>): Set<string>;
  serverSideEmit(packet: unknown[]): Promise<void>;
  /** Its dynamic mode subscribes a room's channel on "create-room" and unsubscribes on "delete-room". */
  removeAllListeners(event: "create-room" | "delete-room"): unknown;
  computeChannel(message: ClusterBroadcastMessage): string;
  /** What the subscription hands each received message to (looked up per message, so replaceable). */
  onRawMessage(message: Buffer, channel: Buffer): void;
  encode(message: ClusterBroadcastMessage): string | Buffer;
  dynamicChannel(room: string): string;
  readonly channel: string;
  readonly responseChannel: string;
  close(): Promise<void>;
}

/**
 * The subscription client as the adapter uses it. Its SSUBSCRIBE/SUNSUBSCRIBE calls drop the
 * returned promise: with Redis down that would be an unhandled rejection, so they go through
 * here and failures are reported instead.
 */
export interface GuardedSubscriber {
  on(event: "smessageBuffer", listener: (channel: Buffer, message: Buffer) => void): void;
  ssubscribe(channel: string): Promise<unknown>;
  sunsubscribe(channel: string | string[]): Promise<unknown>;
}

export function guardSubscriber(
  subscriber: Redis,
  onFailure: (command: string, channels: string | string[], error: unknown) => void,
): GuardedSubscriber {
  // A burst of joins to new topics subscribes a room each: 13.7–25.4 instead of 17.6–32.2 µs of
  // CPU per SSUBSCRIBE, 20 per tick, when they leave in one write (microbenchmark). Corking keeps
  // their order, and that of the PING subscriptionsSettled sends after them.
  const corkForThisTick = batchWritesPerTick(subscriber);
  return {
    on: (event, listener) => void subscriber.on(event, listener),
    ssubscribe: (channel) => {
      corkForThisTick();
      return subscriber.ssubscribe(channel).catch((error: unknown) => onFailure("ssubscribe", channel, error));
    },
    sunsubscribe: (channels) => {
      corkForThisTick();
      return subscriber.sunsubscribe(...[channels].flat()).catch((error: unknown) => onFailure("sunsubscribe", channels, error));
    },
  };
}

/**
 * The adapter walks `rooms` (kept by `joinRoom`/`leaveRoom`) instead of its own room map, which
 * stays empty. `broadcastsByTopicRoom` counts the broadcasts each topic room with members here
 * received on this node (local and from other nodes); `leaveRoom`'s caller drops a room's count
 * with it.
 */
export function createAdapter(
  namespace: AdapterNamespace,
  publisher: Redis,
  subscriber: GuardedSubscriber,
  channelPrefix: string,
  rooms: RoomTable<MemberSocket>,
  broadcastsByTopicRoom: Map<string, number>,
): ShardedAdapter {
  const adapter = createShardedAdapter(publisher, subscriber, { channelPrefix, subscriptionMode: "dynamic" })(namespace) as unknown as ShardedAdapter;
  namespace.adapter = adapter;
  keepRoomsHere(adapter, subscriber, rooms);
  walkRoomsDirectly(adapter, namespace, rooms, broadcastsByTopicRoom);
  readBroadcastsDirectly(adapter);
  return adapter;
}

/**
 * Room membership and room channel subscriptions are kept by this lib (`joinRoom`, `leaveRoom`,
 * `memberChannel`) instead of the adapter's `addAll`/`del`/`delAll`, room map and its dynamic
 * mode's room listeners, which cost per connection: a Set of the socket's rooms (`sids`), a Set per
 * room even of one member, a handler per subscribed channel in a Map keyed by the channel's name,
 * and for the member's own room (`m:<id>`, for push and reply) a room of its own. Here a member's
 * topic rooms are on its MemberSocket, a room's members in a RoomTable, its own room is a channel
 * subscribed without a room behind it (the walk finds the member by the id in the room's name),
 * and every room channel's messages reach the adapter through one listener. The adapter still
 * publishes to the same channels (dynamic mode) and decodes: other nodes see no difference on
 * the wire. Its room map stays empty, so its own walk and a remote `fetchSockets`/`addSockets`/
 * `socketRooms` would see no socket here: this lib uses none of them.
 */
function keepRoomsHere(adapter: ShardedAdapter, subscriber: GuardedSubscriber, rooms: RoomTable<MemberSocket>): void {
  adapter.removeAllListeners("create-room");
  adapter.removeAllListeners("delete-room");
  const roomOffset = Buffer.byteLength(adapter.channel);
  subscriber.on("smessageBuffer", (channel, message) => {
    if (hasRoomAt(channel, roomOffset)) adapter.onRawMessage(message, channel);
  });
  adapter.computeExceptSids = (exceptRooms) => {
    const ids = new Set<string>();
    for (const room of exceptRooms) {
      const member = memberOfRoom(room);
      if (member !== undefined) ids.add(member);
      else for (const socket of valuesOf(rooms.membersOf(room))) ids.add(socket.id);
    }
    return ids;
  };
}

/** Also subscribes the room's channel when it is the room's first member here. */
export function joinRoom(adapter: ShardedAdapter, subscriber: GuardedSubscriber, rooms: RoomTable<MemberSocket>, socket: MemberSocket, room: string): void {
  if (socket.enter(room) && rooms.add(room, socket)) void subscriber.ssubscribe(adapter.dynamicChannel(room));
}

/** True when the room's last member here left (its channel is unsubscribed then). */
export function leaveRoom(adapter: ShardedAdapter, subscriber: GuardedSubscriber, rooms: RoomTable<MemberSocket>, socket: MemberSocket, room: string): boolean {
  if (!socket.leave(room) || !rooms.delete(room, socket)) return false;
  void subscriber.sunsubscribe(adapter.dynamicChannel(room));
  return true;
}

/** The member's own channel, where pushes and replies to it from other nodes arrive. */
export function memberChannel(adapter: ShardedAdapter, memberId: string): string {
  return adapter.dynamicChannel(memberRoom(memberId));
}

/**
 * The adapter's room walk over the RoomTable and the member rooms, for broadcasts only (this lib
 * asks the adapter for nothing else), so it is also where a topic room's broadcasts are counted:
 * once per broadcast, whichever node it came from. Every broadcast of this lib names one room:
 * no Set of visited ids is made for it, as the in-memory walk makes to skip members met in
 * several rooms (the same visits, in join order). A topic room holds its members themselves; a
 * member room names its member, found by id.
 */
function walkRoomsDirectly(adapter: ShardedAdapter, namespace: AdapterNamespace, rooms: RoomTable<MemberSocket>, broadcastsByTopicRoom: Map<string, number>): void {
  adapter.apply = (options, visit) => {
    const except = options.except.size === 0 ? undefined : adapter.computeExceptSids(options.except);
    const visited = options.rooms.size > 1 ? new Set<string>() : undefined;
    for (const room of options.rooms) {
      const members = rooms.membersOf(room);
      if (members === undefined) {
        const id = memberOfRoom(room);
        const socket = id === undefined ? undefined : namespace.sockets.get(id);
        if (socket !== undefined) visitMember(socket, except, visited, visit);
        continue;
      }
      if (isTopicRoom(room)) broadcastsByTopicRoom.set(room, (broadcastsByTopicRoom.get(room) ?? 0) + 1);
      if (!isSet(members)) visitMember(members, except, visited, visit);
      else for (const socket of members) visitMember(socket, except, visited, visit);
    }
  };
}

function visitMember(socket: MemberSocket, except: Set<string> | undefined, visited: Set<string> | undefined, visit: (socket: MemberSocket) => void): void {
  if (except !== undefined || visited !== undefined) {
    const { id } = socket;
    if (except?.has(id) || visited?.has(id)) return;
    visited?.add(id);
  }
  visit(socket);
}

/**
 * Broadcasts in the prebuilt SPUBLISH's layout (every node and the bridge publish them so) are
 * read by broadcast-decode.ts and delivered as the adapter's `onMessage` would (own echoes
 * dropped, then the in-memory broadcast), without notepack building the message object; anything
 * else goes the adapter's way. In the steady profile notepack's decode and the options' Sets were
 * a fifth of a node's receive JavaScript besides the member walk.
 */
function readBroadcastsDirectly(adapter: ShardedAdapter): void {
  const decode = broadcastDecoder(NAMESPACE, MessageType.BROADCAST);
  const responseChannel = Buffer.from(adapter.responseChannel);
  const readMessage = adapter.onRawMessage.bind(adapter);
  adapter.onRawMessage = (message, channel) => {
    const broadcast = channel.equals(responseChannel) ? undefined : decode(message);
    if (broadcast === undefined) return readMessage(message, channel);
    if (broadcast.uid === adapter.uid) return;
    InMemoryAdapter.prototype.broadcast.call(adapter as unknown as InMemoryAdapter, broadcast.packet, roomOptions(broadcast.room, broadcast.exceptRoom));
  };
}

function roomOptions(room: string, exceptRoom: string | undefined): RoomOptions {
  return { rooms: new Set([room]), except: new Set(exceptRoom === undefined ? [] : [exceptRoom]), flags: {} };
}

/**
 * Delivery to this node's sockets only, synchronously. The adapter's own `broadcast` awaits the
 * Redis publish before it delivers locally, so local members would wait on (or, Redis down,
 * stall behind) Redis; the in-memory broadcast underneath it does not. Nothing is encoded for a
 * room without members here (the bridge has none at all).
 */
export function deliverLocally(adapter: ShardedAdapter, rooms: RoomTable<MemberSocket>, packet: AdapterPacket, room: string, exceptRoom: string | undefined): void {
  if (!rooms.has(room)) return;
  InMemoryAdapter.prototype.broadcast.call(adapter as unknown as InMemoryAdapter, packet, roomOptions(room, exceptRoom));
}

/**
 * Publishes a broadcast for one room to the other nodes, exactly as the adapter's own broadcast
 * would (same channel, same encoding, so their adapters deliver it), and answers what SPUBLISH
 * answers: how many subscriptions received it. For a member room that is 1 if some node has the
 * member, else 0. The node's own subscription gets an echo, which its adapter ignores by uid.
 * With `commands`, packets it can build leave as one prebuilt SPUBLISH (publish-command.ts).
 * `answer` is called once, never before this returns; an encoder refusing the packet throws.
 */
export function publishToRoom(
  adapter: ShardedAdapter,
  publisher: Redis,
  commands: PublishCommands | undefined,
  packet: AdapterPacket,
  room: string,
  exceptRoom: string | undefined,
  answer: PublishAnswer,
): void {
  const prebuilt = commands?.build(packet.type, packet.data, room, exceptRoom, answer);
  if (prebuilt !== undefined) {
    void publisher.sendCommand(prebuilt);
    return;
  }
  const message = broadcastMessage(adapter, packet, room, exceptRoom);
  publisher.spublish(adapter.computeChannel(message), adapter.encode(message)).then(
    (receivers) => answer(Number(receivers), undefined),
    (error: Error) => answer(undefined, error),
  );
}

function broadcastMessage(adapter: ShardedAdapter, packet: AdapterPacket, room: string, exceptRoom: string | undefined): ClusterBroadcastMessage {
  return {
    uid: adapter.uid,
    nsp: NAMESPACE,
    type: MessageType.BROADCAST,
    data: { packet, opts: { rooms: [room], except: exceptRoom === undefined ? [] : [exceptRoom], flags: {} } },
  };
}

/**
 * Prebuilt SPUBLISHes for this adapter, unless the connection rewrites or batches commands
 * itself (a key prefix, auto-pipelining): a command handed to `sendCommand` skips both. The
 * channel of a room is the adapter's, asked once per room the builder keeps.
 */
export function publishCommandsFor(adapter: ShardedAdapter, publisher: Redis): PublishCommands | undefined {
  if (publisher.options.keyPrefix || publisher.options.enableAutoPipelining) return undefined;
  const channelOf = (room: string) => adapter.computeChannel(broadcastMessage(adapter, { type: 0, data: [] }, room, undefined));
  return publishCommands(adapter.uid, NAMESPACE, MessageType.BROADCAST, channelOf);
}

/** The channels subscribed right now (for re-subscribing after an outage). */
export function subscribedChannels(adapter: ShardedAdapter, rooms: RoomTable<MemberSocket>, memberIds: Iterable<string>): string[] {
  const channels = [adapter.channel, adapter.responseChannel];
  for (const room of rooms.names()) channels.push(adapter.dynamicChannel(room));
  for (const memberId of memberIds) channels.push(memberChannel(adapter, memberId));
  return channels;
}
