import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Broadcast, Frame, Message, Reply, Serializer } from "@switchboard/protocol";
import type { TopicCount } from "./topics.ts";

/** One local client connection as the cluster sees it. */
export interface Member {
  /** Unique cluster-wide (the connection's id); its own channel is named after it. */
  readonly id: string;
  /** Decides the frame format; `serializer.format` is the encode-once cache key. */
  readonly serializer: Serializer;
  /** Enqueues one encoded frame (the transport bounds the queue). */
  write(frame: Frame): void;
  /**
   * Phoenix `handle_out`: returning true means the member handled this broadcast itself and the
   * shared frame is not written to it. Called only if defined.
   */
  intercept?(broadcast: Broadcast, historyId?: string): boolean;
}

export interface ClusterOptions {
  /** For commands and publishes; the cluster duplicates it for its subscriptions. */
  redis: Redis;
  nodeId: string;
  /** Prefix of every channel and key the cluster uses; default "sb:". */
  keyPrefix?: string;
  logger: Logger;
  /** For the registry heartbeat; default: no address, `connections` = local members. */
  nodeInfo?: () => { address?: string; connections: number };
  /**
   * Whether some local member may intercept this broadcast (`Member.intercept`), asked once per
   * broadcast delivered here: when false, no member's `intercept` is called for it. Default: every
   * member is asked.
   */
  mayIntercept?(event: string, historyId: string | undefined): boolean;
  /** Registry heartbeat period; default 5 s. */
  heartbeatMs?: number;
  /** A node whose heartbeat is older than this is dropped from the registry; default 15 s. */
  nodeTtlMs?: number;
}

export interface NodeInfo {
  id: string;
  address?: string;
  /** Milliseconds since the epoch, by the node's own clock (as is `lastSeen`). */
  startedAt: number;
  connections: number;
  lastSeen: number;
}

/** Plain counters since start, for the gateway to map onto metrics. */
export interface ClusterStats {
  /** Messages handed to Redis (broadcasts, pushes, replies). */
  readonly published: number;
  /** Publishes not handed to Redis or refused by it; each is also logged. */
  readonly publishErrors: number;
  /** Raw messages this node's subscription received from Redis, own echoes included. */
  readonly received: number;
  /** Frames written to local members. */
  readonly localDeliveries: number;
  /** A serializer or member write that threw; the other members still got theirs. */
  readonly deliveryErrors: number;
  /** SSUBSCRIBE/SUNSUBSCRIBE refused or lost; re-issued when the subscription connection is back. */
  readonly subscriptionErrors: number;
  /** Messages from another node this version could not read. */
  readonly malformed: number;
}

export interface BroadcastOptions {
  /** Phoenix `broadcast_from`: skip this member, whichever node it is on. */
  exceptMemberId?: string;
  /**
   * The broadcast's id in its topic's history (libs/history). It travels in the frame's `ref`
   * slot (`[null, id, topic, event, payload]`), which phoenix.js passes to `channel.on` callbacks,
   * so a client can rejoin with `last_seen`.
   */
  historyId?: string;
}

export type ClusterEvent = "node-down" | "subscriptions-lost" | "resubscribed";

export interface Cluster {
  readonly stats: ClusterStats;
  /** False while Redis (commands or subscriptions) is unreachable. */
  readonly ready: boolean;
  /** Throws if a member with this id is already added (a caller bug). */
  add(member: Member): void;
  /** Also leaves every topic of the member. Unknown ids are ignored. */
  remove(memberId: string): void;
  /** Unknown member ids are ignored (the connection may have closed meanwhile). */
  subscribe(memberId: string, topic: string): void;
  unsubscribe(memberId: string, topic: string): void;
  /**
   * Resolves once Redis has confirmed every subscription change made so far; after it, broadcasts
   * from other nodes to those topics reach this node. Never rejects (resolves when Redis is gone).
   */
  subscriptionsSettled(): Promise<void>;
  /**
   * Every member of the topic on every node, once. Local members get it first, synchronously;
   * then the publish to other nodes. Resolves when that publish is done: true when Redis took it,
   * false when it failed (Redis down; counted in `stats.publishErrors` and logged), never rejected.
   */
  broadcast(broadcast: Broadcast, options?: BroadcastOptions): Promise<boolean>;
  /**
   * `broadcast` with its answer handed to `published` (with `context`, so a caller forwarding
   * many messages needs no closure per message) instead of a promise: the bridge's forwarder
   * publishes every backend message so. Called once, never before this returns.
   */
  broadcastWithCallback<T>(broadcast: Broadcast, options: BroadcastOptions | undefined, published: (sent: boolean, context: T) => void, context: T): void;
  /** This node's members only, no Redis (presence diffs are computed per node). */
  localBroadcast(broadcast: Broadcast, options?: BroadcastOptions): void;
  /**
   * Server push to one member anywhere in the cluster, encoded by its node with its serializer.
   * False if no node has that member or Redis is down (best effort, at most once).
   */
  push(memberId: string, message: Message): Promise<boolean>;
  /** `phx_reply` to one member anywhere; same delivery as `push`. */
  reply(memberId: string, reply: Reply): Promise<boolean>;
  localMembers(topic: string): number;
  /**
   * Cluster-wide member counts per topic, with the topic's broadcasts so far as the node that saw
   * the most counted them (see TopicCount); asks every node, rejects when Redis is down.
   */
  topics(): Promise<TopicCount[]>;
  /** Live nodes from the registry; nodes whose heartbeat expired are dropped. */
  nodes(): Promise<NodeInfo[]>;
  /** A node left the registry (closed, or missed its TTL). Emitted on every node that saw it. */
  on(event: "node-down", listener: (nodeId: string) => void): this;
  /**
   * The subscription connection dropped: other nodes' broadcasts do not reach this node until
   * "resubscribed". Emitted once per outage.
   */
  on(event: "subscriptions-lost", listener: () => void): this;
  /**
   * After "subscriptions-lost": every topic is subscribed again and Redis has confirmed it
   * (as `subscriptionsSettled`). What was published meanwhile never arrived; recorded topics
   * can be caught up from history.
   */
  on(event: "resubscribed", listener: () => void): this;
  off(event: ClusterEvent, listener: (nodeId: string) => void): this;
  close(): Promise<void>;
}
