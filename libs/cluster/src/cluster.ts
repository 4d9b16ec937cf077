import { EventEmitter } from "node:events";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Broadcast, Message, Reply } from "@switchboard/protocol";
import type { BroadcastOptions, Cluster, ClusterEvent, ClusterOptions, ClusterStats, Member, NodeInfo } from "./api.ts";
import {
  createAdapter,
  deliverLocally,
  guardSubscriber,
  joinRoom,
  leaveRoom,
  memberChannel,
  publishCommandsFor,
  publishToRoom,
  subscribedChannels,
  type AdapterNamespace,
  type GuardedSubscriber,
  type ShardedAdapter,
} from "./adapter.ts";
import { DeliveryEncoder, MemberSocket } from "./delivery.ts";
import type { PublishCommands } from "./publish-command.ts";
import { packetOf, type AdapterPacket, type Envelope } from "./envelope.ts";
import { DEFAULT_KEY_PREFIX, NAMESPACE, memberRoom, redisNames, topicOfRoom, topicRoom } from "./naming.ts";
import { NodeRegistry } from "./registry.ts";
import { RoomTable } from "./room-table.ts";
import { TOPICS_REQUEST, mergeTopicCounts, type TopicCount } from "./topics.ts";

/** Registry defaults: a dead node is noticed within TTL + one heartbeat (~20 s). */
const DEFAULT_HEARTBEAT_MS = 5_000;
const DEFAULT_NODE_TTL_MS = 15_000;

type Counters = { -readonly [K in keyof ClusterStats]: number };

class ClusterNode implements Cluster {
  readonly stats: Counters = {
    published: 0,
    publishErrors: 0,
    received: 0,
    localDeliveries: 0,
    deliveryErrors: 0,
    subscriptionErrors: 0,
    malformed: 0,
  };
  private readonly events = new EventEmitter();
  private readonly logger: Logger;
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly guardedSubscriber: GuardedSubscriber;
  private readonly namespace: AdapterNamespace;
  private readonly adapter: ShardedAdapter;
  private readonly publishCommands: PublishCommands | undefined;
  private readonly registry: NodeRegistry;
  private readonly rooms = new RoomTable<MemberSocket>();
  /** Broadcasts received per topic room while it has members here (see createAdapter). */
  private readonly broadcastsByTopicRoom = new Map<string, number>();
  /** One error log per outage; every failure still counts. */
  private outageLogged = false;
  /** Between the subscription connection dropping and every topic being subscribed again. */
  private subscriptionsLost = false;
  private closed = false;
  private readonly endOutage = (): void => {
    this.outageLogged = false;
  };

  constructor(options: ClusterOptions) {
    this.logger = options.logger.child({ node: options.nodeId, component: "cluster" });
    this.redis = options.redis;
    const names = redisNames(options.keyPrefix ?? DEFAULT_KEY_PREFIX);

    // A connection in subscriber mode cannot run other commands: subscriptions get their own.
    this.subscriber = options.redis.duplicate();
    this.subscriber.on("error", (error: Error) => this.logger.debug({ err: error }, "cluster subscription connection error"));
    this.subscriber.on("ready", () => this.resubscribe());
    this.subscriber.on("close", () => {
      if (this.subscriptionsLost || this.closed) return;
      this.subscriptionsLost = true;
      this.events.emit("subscriptions-lost");
    });
    this.subscriber.on("smessageBuffer", () => this.stats.received++);
    this.redis.on("ready", this.endOutage);

    this.namespace = {
      name: NAMESPACE,
      sockets: new Map(),
      server: { encoder: new DeliveryEncoder(this.stats, this.logger, options.mayIntercept), opts: {} },
      _ids: 0,
      _onServerSideEmit: (args) => this.answerServerSideEmit(args),
    };
    this.guardedSubscriber = guardSubscriber(this.subscriber, (command, channels, error) => {
      this.stats.subscriptionErrors++;
      this.logger.warn({ err: error, command, channels }, "cluster subscription change failed; re-issued when Redis is back");
    });
    this.adapter = createAdapter(this.namespace, this.redis, this.guardedSubscriber, names.adapterChannelPrefix, this.rooms, this.broadcastsByTopicRoom);
    this.publishCommands = publishCommandsFor(this.adapter, this.redis);

    this.registry = new NodeRegistry({
      redis: this.redis,
      names,
      nodeId: options.nodeId,
      info: options.nodeInfo ?? (() => ({ connections: this.namespace.sockets.size })),
      heartbeatMs: options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
      ttlMs: options.nodeTtlMs ?? DEFAULT_NODE_TTL_MS,
      logger: this.logger,
      onNodeDown: (nodeId) => {
        this.logger.info({ downNode: nodeId }, "node left the cluster registry");
        this.events.emit("node-down", nodeId);
      },
    });
    this.registry.start();
  }

  get ready(): boolean {
    return !this.closed && this.redis.status === "ready" && this.subscriber.status === "ready";
  }

  add(member: Member): void {
    if (this.namespace.sockets.has(member.id)) throw new Error(`cluster member ${member.id} is already added`);
    this.namespace.sockets.set(member.id, new MemberSocket(member));
    void this.guardedSubscriber.ssubscribe(memberChannel(this.adapter, member.id));
  }

  remove(memberId: string): void {
    const socket = this.namespace.sockets.get(memberId);
    if (socket === undefined) return;
    for (const room of socket.rooms()) this.leave(socket, room);
    this.namespace.sockets.delete(memberId);
    void this.guardedSubscriber.sunsubscribe(memberChannel(this.adapter, memberId));
  }

  subscribe(memberId: string, topic: string): void {
    const socket = this.namespace.sockets.get(memberId);
    if (socket !== undefined) joinRoom(this.adapter, this.guardedSubscriber, this.rooms, socket, topicRoom(topic));
  }

  unsubscribe(memberId: string, topic: string): void {
    const socket = this.namespace.sockets.get(memberId);
    if (socket !== undefined) this.leave(socket, topicRoom(topic));
  }

  async subscriptionsSettled(): Promise<void> {
    // Commands on one connection are answered in order: once PING is, every earlier
    // SSUBSCRIBE/SUNSUBSCRIBE has been applied by Redis.
    if (this.subscriber.status !== "ready") return;
    await this.subscriber.ping().catch(() => undefined);
  }

  broadcast(broadcast: Broadcast, options?: BroadcastOptions): Promise<boolean> {
    return new Promise((resolve) => this.broadcastWithCallback(broadcast, options, resolve, undefined));
  }

  broadcastWithCallback<T>(broadcast: Broadcast, options: BroadcastOptions | undefined, published: (sent: boolean, context: T) => void, context: T): void {
    const packet = packetOf({ kind: "broadcast", broadcast, historyId: options?.historyId });
    const room = topicRoom(broadcast.topic);
    const exceptRoom = exceptRoomOf(options);
    deliverLocally(this.adapter, this.rooms, packet, room, exceptRoom);
    this.publish(packet, room, exceptRoom, broadcast.topic, published, context);
  }

  localBroadcast(broadcast: Broadcast, options?: BroadcastOptions): void {
    deliverLocally(this.adapter, this.rooms, packetOf({ kind: "broadcast", broadcast, historyId: options?.historyId }), topicRoom(broadcast.topic), exceptRoomOf(options));
  }

  push(memberId: string, message: Message): Promise<boolean> {
    return this.sendTo(memberId, { kind: "push", message }, message.topic);
  }

  reply(memberId: string, reply: Reply): Promise<boolean> {
    return this.sendTo(memberId, { kind: "reply", reply }, reply.topic);
  }

  localMembers(topic: string): number {
    return this.rooms.size(topicRoom(topic));
  }

  async topics(): Promise<TopicCount[]> {
    if (!this.ready) throw new Error("cluster topics unavailable: Redis is unreachable");
    const remote = await new Promise<TopicCount[][]>((resolve, reject) => {
      const collect = (error: Error | null, responses: unknown[]) => {
        if (error) this.logger.warn({ err: error }, "cluster topics: some nodes did not answer in time");
        resolve(responses as TopicCount[][]);
      };
      this.adapter.serverSideEmit([TOPICS_REQUEST, collect]).catch(reject);
    });
    return mergeTopicCounts([this.localTopics(), ...remote]);
  }

  nodes(): Promise<NodeInfo[]> {
    return this.registry.list();
  }

  on(event: "node-down", listener: (nodeId: string) => void): this;
  on(event: "subscriptions-lost" | "resubscribed", listener: () => void): this;
  on(event: ClusterEvent, listener: (nodeId: string) => void): this {
    this.events.on(event, listener);
    return this;
  }

  off(event: ClusterEvent, listener: (nodeId: string) => void): this {
    this.events.off(event, listener);
    return this;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.redis.off("ready", this.endOutage);
    await this.registry.stop();
    this.namespace.sockets.clear();
    // Closing the connection ends every subscription on it. The adapter's own close() would
    // SUNSUBSCRIBE channel by channel first, and with Redis away that never completes.
    this.subscriber.disconnect();
  }

  private async sendTo(memberId: string, envelope: Envelope, topic: string): Promise<boolean> {
    const packet = packetOf(envelope);
    const local = this.namespace.sockets.get(memberId);
    if (local) {
      // The encoder path, so a local push is counted and guarded like any other delivery.
      for (const delivery of this.namespace.server.encoder.encode(packet)) delivery.deliverTo(local.member);
      return true;
    }
    return new Promise((resolve) => this.publish(packet, memberRoom(memberId), undefined, topic, (sent, _context, receivers) => resolve(sent && receivers > 0), undefined));
  }

  /**
   * Tells `answered` whether Redis took the publish and how many subscriptions it delivered to
   * (0 when it did not); never before this returns. A callback rather than a promise: the bridge
   * publishes every backend message through here.
   */
  private publish<T>(
    packet: AdapterPacket,
    room: string,
    exceptRoom: string | undefined,
    topic: string,
    answered: (sent: boolean, context: T, receivers: number) => void,
    context: T,
  ): void {
    if (this.closed) return process.nextTick(answered, false, context, 0);
    if (this.redis.status !== "ready") {
      this.publishFailed(new Error(`Redis connection is ${this.redis.status}`), topic);
      return process.nextTick(answered, false, context, 0);
    }
    try {
      publishToRoom(this.adapter, this.redis, this.publishCommands, packet, room, exceptRoom, (receivers, error) => {
        if (receivers === undefined) {
          this.publishFailed(error, topic);
          return answered(false, context, 0);
        }
        this.stats.published++;
        answered(true, context, receivers);
      });
    } catch (error) {
      // An encoder refusing the packet: the same answer as Redis refusing it.
      this.publishFailed(error, topic);
      process.nextTick(answered, false, context, 0);
    }
  }

  private leave(socket: MemberSocket, room: string): void {
    if (leaveRoom(this.adapter, this.guardedSubscriber, this.rooms, socket, room)) this.broadcastsByTopicRoom.delete(room);
  }

  private publishFailed(error: unknown, topic: string): void {
    this.stats.publishErrors++;
    if (this.outageLogged) {
      this.logger.debug({ err: error, topic }, "cluster publish failed");
      return;
    }
    this.outageLogged = true;
    this.logger.error({ err: error, topic }, "cluster publish failed: other nodes miss messages until Redis is back");
  }

  /**
   * Subscriptions lost during an outage (not only those ioredis re-subscribes itself). One
   * channel per command: on Redis Cluster, channels of different slots cannot share one.
   */
  private resubscribe(): void {
    if (this.closed) return;
    for (const channel of subscribedChannels(this.adapter, this.rooms, this.namespace.sockets.keys())) void this.guardedSubscriber.ssubscribe(channel);
    if (!this.subscriptionsLost) return;
    void this.subscriptionsSettled().then(() => {
      if (this.closed || !this.subscriptionsLost || this.subscriber.status !== "ready") return;
      this.subscriptionsLost = false;
      this.events.emit("resubscribed");
    });
  }

  private answerServerSideEmit(args: unknown[]): void {
    const [name] = args;
    const ack = args[args.length - 1];
    if (name === TOPICS_REQUEST && typeof ack === "function") ack(this.localTopics());
  }

  private localTopics(): TopicCount[] {
    const counts: TopicCount[] = [];
    for (const [room, members] of this.rooms.counts()) {
      const topic = topicOfRoom(room);
      if (topic !== undefined) counts.push({ topic, members, messages: this.broadcastsByTopicRoom.get(room) ?? 0 });
    }
    return counts;
  }
}

function exceptRoomOf(options: BroadcastOptions | undefined): string | undefined {
  return options?.exceptMemberId === undefined ? undefined : memberRoom(options.exceptMemberId);
}

export function createCluster(options: ClusterOptions): Cluster {
  return new ClusterNode(options);
}
