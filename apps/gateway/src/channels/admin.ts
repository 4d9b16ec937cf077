import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { Redis } from "ioredis";
import { ADMIN_TOPIC, type TokenVerifier } from "@switchboard/auth";
import { error, ok, reply } from "@switchboard/channels";
import type { ChannelEvents, ChannelHandler } from "@switchboard/channels";
import type { Cluster } from "@switchboard/cluster";
import type { Payload } from "@switchboard/protocol";
import { isObject, joinToken } from "./payload-shape.ts";

/**
 * Events on the `admin` topic, each a broadcast to every admin client on every node:
 * - `channel.add`    `{topic}`: the topic got its first member cluster-wide;
 * - `channel.join`   `{topic, socket, node, members}`: a member joined (members = new cluster-wide count);
 * - `channel.leave`  `{topic, socket, node, members}`: a member left; after a node died, one
 *   `channel.leave` per topic with `socket: null` and `departed` = how many of its members went;
 * - `channel.remove` `{topic}`: the last member left.
 * An admin client pushes `channel.list` and gets the reply `{"channels": [{topic, members, messages?}]}`
 * (`messages`: the topic's broadcasts so far, a counter, when the nodes answered in time),
 * `node.list` → `{"nodes": [NodeInfo]}` (the node registry), and `publish` `{topic, event, payload}`
 * → a broadcast to that topic (not `admin`, no `phx_`/`presence_` event), replied `{}`.
 * The admin topic itself is not reported (admin clients would otherwise announce each other).
 * Nothing is announced while no admin client is joined anywhere (counts are kept all the same).
 */
export const AdminEvent = {
  ADD: "channel.add",
  JOIN: "channel.join",
  LEAVE: "channel.leave",
  REMOVE: "channel.remove",
  LIST: "channel.list",
  NODES: "node.list",
  PUBLISH: "publish",
} as const;

export const AdminReplyError = {
  UNKNOWN_EVENT: "unknown admin event",
  UNAVAILABLE: "channel counts unavailable",
  NODES_UNAVAILABLE: "node registry unavailable",
  BAD_PUBLISH: "publish needs {topic, event, payload}: not the admin topic, not a phx_ or presence_ event",
} as const;

// Counts live in Redis so that "first member" and "last member" are decided once, cluster-wide:
// a hash topic → members, plus one hash per node with its own share, so a node that dies without
// saying goodbye can be discounted by the survivors (whoever runs the sweep first gets the
// numbers; the others find the node's hash gone).
//
// Announcements are only sent while an admin client is joined somewhere: every node with one
// keeps itself in a sorted set scored by its entry's expiry (Redis time, so node clocks do not
// matter), and each script answers, with its counts, whether an unexpired entry exists. A node
// that dies with admin clients keeps announcements on for one LISTENER_TTL_MS at most.
const LISTENING = `
local function listening(key)
  local time = redis.call("TIME")
  return redis.call("ZCOUNT", key, time[1] * 1000 + math.floor(time[2] / 1000), "+inf")
end`;
//
// A turn's joins and leaves are counted by one call: ARGV[1] the node, then (JOINED or LEFT, topic)
// pairs in the order they happened. The answer: whether an admin listens, then per pair the
// topic's new count (-1 for a leave a sweep already discounted).
const JOINED = "j";
const LEFT = "l";
const COUNT_SCRIPT = `${LISTENING}
local out = {listening(KEYS[4])}
for i = 2, #ARGV, 2 do
  local topic = ARGV[i + 1]
  if ARGV[i] == "${JOINED}" then
    redis.call("SADD", KEYS[3], ARGV[1])
    redis.call("HINCRBY", KEYS[2], topic, 1)
    out[#out + 1] = redis.call("HINCRBY", KEYS[1], topic, 1)
  else
    local mine = tonumber(redis.call("HGET", KEYS[2], topic) or "0")
    if mine <= 0 then
      out[#out + 1] = -1
    else
      if mine == 1 then redis.call("HDEL", KEYS[2], topic) else redis.call("HINCRBY", KEYS[2], topic, -1) end
      local left = redis.call("HINCRBY", KEYS[1], topic, -1)
      if left <= 0 then redis.call("HDEL", KEYS[1], topic) left = 0 end
      out[#out + 1] = left
    end
  end
end
return out`;
/**
 * Joins and leaves counted per script call. A turn starts at most JOINS_PER_TURN joins, but a
 * turn's closed sockets leave all their topics at once: a call stays short for Redis, which runs
 * nothing else meanwhile.
 */
const MAX_CHANGES_PER_COUNT = 256;
const SWEEP_SCRIPT = `${LISTENING}
local share = redis.call("HGETALL", KEYS[2])
redis.call("DEL", KEYS[2])
redis.call("SREM", KEYS[3], ARGV[1])
local out = {listening(KEYS[4])}
for i = 1, #share, 2 do
  local left = redis.call("HINCRBY", KEYS[1], share[i], -tonumber(share[i + 1]))
  if left <= 0 then redis.call("HDEL", KEYS[1], share[i]) left = 0 end
  table.insert(out, share[i]) table.insert(out, share[i + 1]) table.insert(out, left)
end
return out`;
/** Puts this node in the listeners set until now + ARGV[2] ms, dropping expired entries. */
const LISTEN_SCRIPT = `
local time = redis.call("TIME")
local now = time[1] * 1000 + math.floor(time[2] / 1000)
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", "(" .. now)
redis.call("ZADD", KEYS[1], now + tonumber(ARGV[2]), ARGV[1])`;

/**
 * A script sent by its SHA1 (EVALSHA), its text only when Redis may lack it: every turn with joins
 * or leaves runs one, and as EVAL each carried the script's text, which the node encoded and Redis
 * hashed again per call. The first call on a connection sends the text: a burst of joins goes out
 * before any answer, and Redis runs a connection's commands in order, so the EVALSHAs behind it
 * find the script (an EVALSHA first would have made every call of the burst fail NOSCRIPT and
 * resend). Calls made while the connection is not ready send the text too. A NOSCRIPT later
 * (SCRIPT FLUSH, a restart the connection did not see) resends the text.
 */
function storedScript(redis: Redis, lua: string, keys: number) {
  const sha = createHash("sha1").update(lua).digest("hex");
  let textSentOn: Redis["stream"] | undefined;
  return (...args: Array<string | number>): Promise<unknown> => {
    // Not connected: the call waits in the offline queue for a connection that may not know the script.
    if (redis.status !== "ready" || textSentOn !== redis.stream) {
      if (redis.status === "ready") textSentOn = redis.stream;
      return redis.eval(lua, keys, ...args);
    }
    return redis.evalsha(sha, keys, ...args).catch((failure: unknown) => {
      if (!(failure instanceof Error) || !failure.message.startsWith("NOSCRIPT")) throw failure;
      return redis.eval(lua, keys, ...args);
    });
  };
}

/**
 * How long a node's "an admin client listens here" entry lasts without a refresh. Refreshed three
 * times per TTL while the node has an admin client, so a Redis restart (entries gone) silences
 * announcements for a third of it at most; a crashed node's entry keeps them on this long.
 */
export const LISTENER_TTL_MS = 15_000;
const LISTENER_REFRESHES_PER_TTL = 3;

/**
 * How long `channel.list` waits for every node's message counts (the adapter's own request
 * timeout is 5 s); past it the list goes without them. A dashboard asks once a second.
 */
const MESSAGE_COUNTS_WAIT_MS = 500;

/** What the admin channel uses of the cluster: announcements, the registry, per-topic message counts, dead-node notices. */
export interface AdminCluster {
  broadcast: Cluster["broadcast"];
  topics: Cluster["topics"];
  nodes: Cluster["nodes"];
  on(event: "node-down", listener: (nodeId: string) => void): unknown;
}

export interface AdminOptions {
  verifier: TokenVerifier;
  redis: Redis;
  cluster: AdminCluster;
  nodeId: string;
  keyPrefix: string;
  logger: Logger;
}

export interface Admin {
  readonly handler: ChannelHandler;
  /** Lifecycle hooks that feed the counts and the events. */
  readonly events: ChannelEvents;
  /** Drops this node's stale share (a restart under the same id) and that of nodes no longer alive. */
  sweepStale(): Promise<void>;
}

export function createAdmin(options: AdminOptions): Admin {
  const { verifier, redis, cluster, nodeId, logger } = options;
  const countsKey = `${options.keyPrefix}admin:members`;
  const nodesKey = `${options.keyPrefix}admin:nodes`;
  const shareKey = (node: string) => `${options.keyPrefix}admin:node:${node}`;
  const listenersKey = `${options.keyPrefix}admin:listeners`;
  const announce = (event: string, payload: Record<string, unknown>) => cluster.broadcast({ topic: ADMIN_TOPIC, event, payload });
  const failed = (what: string) => (failure: unknown) => logger.warn({ err: failure, what }, "admin bookkeeping failed");

  const countScript = storedScript(redis, COUNT_SCRIPT, 4);

  /**
   * The turn's joins and leaves, counted at its end by one script call (a call per join was the
   * largest Redis cost of a join, in the node and in Redis): (kind, topic) pairs as the script
   * takes them, and each change's socket for its announcement.
   */
  let changes: string[] = [];
  let changeSockets: string[] = [];
  const changed = (kind: typeof JOINED | typeof LEFT, topic: string, socket: string) => {
    if (changes.length === 0) setImmediate(countChanges);
    changes.push(kind, topic);
    changeSockets.push(socket);
  };
  const countChanges = () => {
    for (let start = 0; start < changeSockets.length; start += MAX_CHANGES_PER_COUNT) {
      const end = Math.min(changeSockets.length, start + MAX_CHANGES_PER_COUNT);
      count(changes.slice(2 * start, 2 * end), changeSockets.slice(start, end)).catch(failed("count"));
    }
    changes = [];
    changeSockets = [];
  };
  const count = async (pairs: string[], sockets: string[]) => {
    const [listeners, ...members] = (await countScript(countsKey, shareKey(nodeId), nodesKey, listenersKey, nodeId, ...pairs)) as number[];
    if (listeners === 0) return;
    for (const [index, socket] of sockets.entries()) {
      const [kind, topic] = [pairs[2 * index], pairs[2 * index + 1]!];
      const now = members[index]!;
      if (kind === JOINED) {
        if (now === 1) await announce(AdminEvent.ADD, { topic });
        await announce(AdminEvent.JOIN, { topic, socket, node: nodeId, members: now });
      } else if (now >= 0) {
        // A leave a sweep already discounted counts -1: nothing to announce.
        await announce(AdminEvent.LEAVE, { topic, socket, node: nodeId, members: now });
        if (now === 0) await announce(AdminEvent.REMOVE, { topic });
      }
    }
  };

  const sweep = async (node: string) => {
    const [listeners, ...result] = (await redis.eval(SWEEP_SCRIPT, 4, countsKey, shareKey(node), nodesKey, listenersKey, node)) as Array<string | number>;
    for (let i = 0; listeners !== 0 && i < result.length; i += 3) {
      const topic = String(result[i]);
      const members = Number(result[i + 2]);
      await announce(AdminEvent.LEAVE, { topic, socket: null, node, members, departed: Number(result[i + 1]) });
      if (members === 0) await announce(AdminEvent.REMOVE, { topic });
    }
    if (result.length > 0) logger.info({ deadNode: node, topics: result.length / 3 }, "discounted a dead node's channel members");
  };

  // Admin clients joined here; while there are any, this node's listener entry is kept fresh.
  let localAdmins = 0;
  let listenerRefresh: NodeJS.Timeout | undefined;
  const listen = () => redis.eval(LISTEN_SCRIPT, 1, listenersKey, nodeId, LISTENER_TTL_MS).then(() => undefined, failed("listen"));
  const adminJoined = () => {
    if (++localAdmins > 1) return;
    // Again here: a last admin's leave may have removed the entry since this one's join wrote it.
    void listen();
    listenerRefresh = setInterval(() => void listen(), LISTENER_TTL_MS / LISTENER_REFRESHES_PER_TTL);
    listenerRefresh.unref();
  };
  const adminLeft = () => {
    if (--localAdmins > 0) return;
    clearInterval(listenerRefresh);
    redis.zrem(listenersKey, nodeId).catch(failed("unlisten"));
  };

  cluster.on("node-down", (node) => void sweep(node).catch(failed("sweep")));

  const handler: ChannelHandler = {
    async join(topic, payload) {
      const verified = verifier.verifyForTopic(joinToken(payload), topic);
      if (!verified.ok) return error({ reason: verified.reason });
      // Before the reply: every join the client hears of after it must be announced.
      await listen();
      return ok({});
    },
    async handleIn(event, payload) {
      switch (event) {
        case AdminEvent.LIST:
          return listChannels();
        case AdminEvent.NODES:
          // Redis down: an error reply, not a channel crash the client would answer with a rejoin.
          return cluster.nodes().then(
            (nodes) => reply("ok", { nodes }),
            () => reply("error", { reason: AdminReplyError.NODES_UNAVAILABLE }),
          );
        case AdminEvent.PUBLISH: {
          const message = publishRequest(payload);
          if (!message) return reply("error", { reason: AdminReplyError.BAD_PUBLISH });
          await cluster.broadcast(message);
          return reply("ok", {});
        }
        default:
          return reply("error", { reason: AdminReplyError.UNKNOWN_EVENT });
      }
    },
  };

  /** Broadcasts per topic so far, from the nodes that answer in time; empty when none can say. */
  async function messageCounts(): Promise<Map<string, number>> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("nodes did not answer in time")), MESSAGE_COUNTS_WAIT_MS);
    });
    try {
      const topics = await Promise.race([cluster.topics(), late]);
      return new Map(topics.flatMap(({ topic, messages }) => (messages === undefined ? [] : [[topic, messages] as const])));
    } catch (failure) {
      logger.debug({ err: failure }, "channel.list without message counts");
      return new Map();
    } finally {
      clearTimeout(timer);
    }
  }

  async function listChannels() {
    try {
      const [counts, messages] = await Promise.all([redis.hgetall(countsKey), messageCounts()]);
      const channels = Object.entries(counts)
        .map(([topic, members]) => {
          const sent = messages.get(topic);
          return sent === undefined ? { topic, members: Number(members) } : { topic, members: Number(members), messages: sent };
        })
        .sort((a, b) => a.topic.localeCompare(b.topic));
      return reply("ok", { channels });
    } catch (failure) {
      logger.warn({ err: failure }, "channel.list failed");
      return reply("error", { reason: AdminReplyError.UNAVAILABLE });
    }
  }

  return {
    handler,
    events: {
      joined(topic, socket) {
        if (topic === ADMIN_TOPIC) adminJoined();
        else changed(JOINED, topic, socket);
      },
      left(topic, socket) {
        if (topic === ADMIN_TOPIC) adminLeft();
        else changed(LEFT, topic, socket);
      },
    },
    async sweepStale() {
      await sweep(nodeId);
      const alive = new Set((await cluster.nodes()).map((node) => node.id));
      for (const node of await redis.smembers(nodesKey)) if (!alive.has(node) && node !== nodeId) await sweep(node);
    },
  };
}

/** An admin's test message: any topic but `admin` itself, never a protocol event. */
function publishRequest(payload: Payload): { topic: string; event: string; payload: Payload } | undefined {
  if (!isObject(payload) || !("payload" in payload)) return undefined;
  const { topic, event } = payload;
  if (typeof topic !== "string" || topic.length === 0 || topic === ADMIN_TOPIC) return undefined;
  if (typeof event !== "string" || event.length === 0 || event.startsWith("phx_") || event.startsWith("presence_")) return undefined;
  return { topic, event, payload: payload.payload as Payload };
}
