import { createShardedAdapter } from "@socket.io/redis-adapter";
import type { Redis } from "ioredis";
import { Adapter as InMemoryAdapter, MessageType } from "socket.io-adapter";
import { broadcastDecoder } from "./broadcast-decode.ts";
import type { AdapterPacket } from "./envelope.ts";
import type { DeliveryEncoder, MemberSocket } from "./delivery.ts";
import { isTopicRoom, NAMESPACE } from "./naming.ts";
import { publishCommands, type PublishAnswer, type PublishCommands } from "./publish-command.ts";
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
  readonly rooms: Map<string, Set<string>>;
  /** Also keyed by socket id: a room is "public" (gets its own channel) when it is not in here. */
  readonly sids: Map<string, Set<string>>;
  /** The in-memory room walk: calls `visit` once per local socket of the rooms, skipping `except`. */
  apply(options: RoomOptions, visit: (socket: MemberSocket) => void): void;
  computeExceptSids(exceptRooms: Set<string>): Set<string>;
  addAll(socketId: string, rooms: Set<string>): void;
  del(socketId: string, room: string): void;
  delAll(socketId: string): void;
  serverSideEmit(packet: unknown[]): Promise<void>;
  /** The in-memory adapter's room lifecycle: a room's last member left this node. */
  on(event: "delete-room", listener: (room: string) => void): unknown;
  computeChannel(message: ClusterBroadcastMessage): string;
  /** What the subscription hands each received message to (looked up per message, so replaceable). */
  onRawMessage(message: Buffer, channel: Buffer): void;
  encode(message: ClusterBroadcastMessage): string | Buffer;
  dynamicChannel(room: string): string;
  shouldUseASeparateNamespace(room: string): boolean;
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
 * `broadcastsByTopicRoom` is kept up to date with the broadcasts each topic room with members
 * here received on this node (local and from other nodes), for as long as it has members here.
 */
export function createAdapter(
  namespace: AdapterNamespace,
  publisher: Redis,
  subscriber: GuardedSubscriber,
  channelPrefix: string,
  broadcastsByTopicRoom: Map<string, number>,
): ShardedAdapter {
  const adapter = createShardedAdapter(publisher, subscriber, { channelPrefix, subscriptionMode: "dynamic" })(namespace) as unknown as ShardedAdapter;
  namespace.adapter = adapter;
  walkSingleRoomsDirectly(adapter, namespace, broadcastsByTopicRoom);
  readBroadcastsDirectly(adapter);
  adapter.on("delete-room", (room) => broadcastsByTopicRoom.delete(room));
  return adapter;
}

/**
 * Every broadcast of this lib names one room. The in-memory walk collects each visited socket id
 * into a new Set to skip sockets that are in several of the rooms; with one room there are none,
 * so the walk goes over the room's members as they are (the same visits, in the same order).
 * This lib walks rooms for broadcasts only, so the walk is also where a topic room's broadcasts
 * are counted: once per broadcast, whichever node it came from.
 */
function walkSingleRoomsDirectly(adapter: ShardedAdapter, namespace: AdapterNamespace, broadcastsByTopicRoom: Map<string, number>): void {
  const walkRooms = adapter.apply.bind(adapter);
  adapter.apply = (options, visit) => {
    if (options.rooms.size !== 1) return walkRooms(options, visit);
    const [room] = options.rooms;
    const members = adapter.rooms.get(room!);
    if (members === undefined) return;
    if (isTopicRoom(room!)) broadcastsByTopicRoom.set(room!, (broadcastsByTopicRoom.get(room!) ?? 0) + 1);
    const except = options.except.size === 0 ? undefined : adapter.computeExceptSids(options.except);
    for (const id of members) {
      if (except?.has(id)) continue;
      const socket = namespace.sockets.get(id);
      if (socket !== undefined) visit(socket);
    }
  };
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
export function deliverLocally(adapter: ShardedAdapter, packet: AdapterPacket, room: string, exceptRoom: string | undefined): void {
  if (!adapter.rooms.has(room)) return;
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

/** The channels the adapter is subscribed to right now (for re-subscribing after an outage). */
export function subscribedChannels(adapter: ShardedAdapter): string[] {
  const channels = [adapter.channel, adapter.responseChannel];
  for (const room of adapter.rooms.keys()) {
    if (adapter.shouldUseASeparateNamespace(room)) channels.push(adapter.dynamicChannel(room));
  }
  return channels;
}
