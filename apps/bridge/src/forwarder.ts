import type { Logger } from "pino";
import type { BroadcastOptions, Cluster } from "@switchboard/cluster";
import { FIND_APPENDED_LOOKBACK, type History } from "@switchboard/history";
import type { Broadcast } from "@switchboard/protocol";

/**
 * How long a backend message the leader has read may wait for Redis to come back before it is
 * dropped: covers a Redis restart or failover, not a long outage (the backend's own PUBLISHes
 * fail meanwhile, so nothing new arrives to wait behind these).
 */
export const FORWARD_RETRY_WINDOW_MS = 15_000;
/** Messages waiting for Redis at once; past it new ones are dropped (and counted), not buffered without bound. */
export const MAX_WAITING_FOR_REDIS = 50_000;
/**
 * A topic's messages sent and not yet answered. When the connection fails with all of them
 * unanswered, each append may or may not have been written; `findAppended` must still reach the
 * first one's entry past the later ones and the re-appended ones, so this is half its lookback.
 * Past it a hot topic's messages wait their turn: still dozens per Redis round trip.
 */
export const MAX_IN_FLIGHT_PER_TOPIC = FIND_APPENDED_LOOKBACK / 2;
/** Pause between attempts while Redis says it is up but refused the command. */
const RETRY_PAUSE_MS = 100;

export interface ForwarderStats {
  /** Messages that waited for Redis at least once and then went out. */
  retried: number;
  /** Messages dropped after FORWARD_RETRY_WINDOW_MS, or because MAX_WAITING_FOR_REDIS were already waiting. */
  dropped: number;
}

/** What the forwarder reads of its Redis connection (an ioredis client satisfies it). */
export interface ReadyWatch {
  readonly status: string;
  once(event: "ready", listener: () => void): unknown;
  off(event: "ready", listener: () => void): unknown;
}

export interface ForwarderOptions {
  history: Pick<History, "accepts" | "append" | "findAppended">;
  /** Unique to this process: with a sequence number it names each message in history. */
  holder: string;
  cluster: Pick<Cluster, "broadcast" | "broadcastWithCallback">;
  /** The connection history and broadcasts go through: its `ready` event ends a wait. */
  redis: ReadyWatch;
  logger: Logger;
  retryWindowMs?: number;
  /**
   * Called before each append or publish leaves: the bridge corks its connection until the tick
   * ends, so a burst of messages read at once leaves in one write.
   */
  batchWrites?: () => void;
}

export interface Forwarder {
  readonly stats: Readonly<ForwarderStats>;
  /** Messages read and neither out nor given up yet. */
  readonly pending: number;
  forward(broadcast: Broadcast): void;
}

/**
 * Where one message is: `queued` (nothing sent: behind the in-flight limit, or its topic waits
 * for Redis), `appending` (history append sent), `ready` (appended, or not recorded; publish not
 * sent yet), `publishing` (publish sent). Once the publish is answered it leaves its queue.
 */
type Step = "queued" | "appending" | "ready" | "publishing";

interface Message {
  readonly broadcast: Broadcast;
  /** Its topic's queue, which holds it until it is out. */
  readonly queue: TopicQueue;
  readonly recorded: boolean;
  /** Names the message in its history entry, so a retry finds an append whose answer was lost. */
  readonly messageKey: string;
  historyId: string | undefined;
  step: Step;
  /** An append left for Redis: a retry looks for its entry before writing another. */
  appendSent: boolean;
  /** Monotonic ms after which a message waiting for Redis is dropped; 0 until it first waits. */
  giveUpAt: number;
  /** Counted in `waiting` now (its topic is being retried). */
  waitingNow: boolean;
  /** Waited for Redis at some point: counted in `retried` once it is out. */
  waited: boolean;
}

interface TopicQueue {
  readonly topic: string;
  /** Read and not out yet, in read order. */
  messages: Message[];
  /** Commands sent for this topic and not answered yet. */
  inFlight: number;
  /** Some command failed: nothing more is sent until the in-flight ones have answered and the queue was retried, in order. */
  failed: boolean;
}

/**
 * Backend → cluster for the lease holder: each message is appended to its topic's history (on
 * recovery topics) and then published, and a Redis that is away when the message arrives delays
 * it instead of losing it: both steps are retried until Redis takes them.
 *
 * Messages of one topic leave in the order they were read without waiting for each other's
 * answers: appends go out as messages arrive and each publish as soon as its own append answered
 * and every earlier message's publish was sent. Commands on one connection run in the order they
 * were sent, so history ids grow in publish order, and a hot topic gets up to
 * MAX_IN_FLIGHT_PER_TOPIC messages per Redis round trip instead of one.
 *
 * When a command fails, the topic stops sending. Once all of its commands have answered, its
 * unfinished messages are retried one after the other in read order, Redis permitting: an append
 * that was sent is first looked for (Redis may have run it and the answer was lost), a message
 * already appended is only published, and messages read meanwhile queue behind. Once Redis took
 * one and no append is left to look for, the rest go out pipelined again. Whatever of the topic
 * did go out before the failure stays out; a message the connection took with it is only ever
 * published after its predecessors.
 *
 * The bridge has no local members, so a retried publish never delivers twice on this process. A
 * publish that Redis ran but whose answer was lost in the crash is run again: the rare duplicate
 * is the price of never dropping what the backend was told was sent. Gateways drop the exact
 * repeat of the last history id they delivered, which covers one such publish per topic; with
 * several of a topic's publishes unanswered when the connection breaks, the earlier ones reach
 * clients twice. That takes a connection lost between Redis running commands and their answers
 * arriving (a crash or a network cut; a Redis stopped with SIGTERM has written the answers of
 * what it ran).
 */
export function createForwarder(options: ForwarderOptions): Forwarder {
  const { history, cluster, redis, logger } = options;
  const batchWrites = options.batchWrites ?? (() => undefined);
  const retryWindowMs = options.retryWindowMs ?? FORWARD_RETRY_WINDOW_MS;
  const stats: ForwarderStats = { retried: 0, dropped: 0 };
  const topics = new Map<string, TopicQueue>();
  let pending = 0;
  let waiting = 0;
  let sequence = 0;

  const redisBack = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        redis.off("ready", done);
        resolve();
      };
      const timer = setTimeout(done, redis.status === "ready" ? RETRY_PAUSE_MS : retryWindowMs);
      if (redis.status !== "ready") redis.once("ready", done);
    });

  const drop = (message: Message, why: string) => {
    stats.dropped++;
    pending--;
    logger.error({ topic: message.broadcast.topic, event: message.broadcast.event, waiting }, `backend message dropped: ${why}`);
  };

  const optionsOf = (message: Message): BroadcastOptions | undefined => (message.historyId === undefined ? undefined : { historyId: message.historyId });

  const settleIfIdle = (queue: TopicQueue) => {
    if (queue.messages.length === 0 && queue.inFlight === 0 && !queue.failed) topics.delete(queue.topic);
  };

  /** Sends what may be sent: appends in read order within the in-flight limit, each publish once every earlier one is sent. */
  const advance = (queue: TopicQueue) => {
    if (queue.failed) return;
    let earlierPublishing = true;
    const { messages } = queue;
    const end = Math.min(messages.length, MAX_IN_FLIGHT_PER_TOPIC);
    for (let index = 0; index < end; index++) {
      const message = messages[index]!;
      if (message.step === "queued") {
        if (message.recorded) sendAppend(queue, message);
        else message.step = "ready";
      }
      if (message.step === "ready" && earlierPublishing) sendPublish(queue, message);
      if (message.step !== "publishing") earlierPublishing = false;
    }
    settleIfIdle(queue);
  };

  const failed = (queue: TopicQueue, message: Message, step: Step, error?: unknown) => {
    if (error !== undefined) logger.debug({ err: error, topic: queue.topic, event: message.broadcast.event }, "forwarding failed, retried when Redis is back");
    message.step = step;
    queue.failed = true;
    if (queue.inFlight === 0) void retry(queue);
  };

  const answered = (queue: TopicQueue) => {
    queue.inFlight--;
    if (!queue.failed) advance(queue);
    else if (queue.inFlight === 0) void retry(queue);
  };

  const sendAppend = (queue: TopicQueue, message: Message) => {
    const { topic, event, payload } = message.broadcast;
    message.step = "appending";
    message.appendSent = true;
    batchWrites();
    queue.inFlight++;
    history.append(topic, event, payload, message.messageKey).then(
      (historyId) => {
        message.historyId = historyId;
        message.step = "ready";
        answered(queue);
      },
      (error: unknown) => {
        queue.inFlight--;
        failed(queue, message, "queued", error);
      },
    );
  };

  const sendPublish = (queue: TopicQueue, message: Message) => {
    message.step = "publishing";
    queue.inFlight++;
    batchWrites();
    cluster.broadcastWithCallback(message.broadcast, optionsOf(message), published, message);
  };

  /** The answer to `sendPublish`: one function for all messages, the message passed along. */
  const published = (sent: boolean, message: Message) => {
    const { queue } = message;
    if (!sent) {
      queue.inFlight--;
      return failed(queue, message, "ready");
    }
    // Answers come in the order publishes were sent, so this is nearly always the first.
    if (queue.messages[0] === message) queue.messages.shift();
    else queue.messages.splice(queue.messages.indexOf(message), 1);
    sentOut(message);
    answered(queue);
  };

  /** One message of a failed topic, commands awaited one by one; false when Redis refused. */
  const attempt = async (message: Message): Promise<boolean> => {
    const { topic, event, payload } = message.broadcast;
    if (message.recorded && message.historyId === undefined) {
      try {
        const found = message.appendSent ? await history.findAppended(topic, message.messageKey) : undefined;
        message.appendSent = true;
        message.historyId = found ?? (await history.append(topic, event, payload, message.messageKey));
      } catch (error) {
        logger.debug({ err: error, topic, event }, "history append failed, retried when Redis is back");
        return false;
      }
    }
    return cluster.broadcast(message.broadcast, optionsOf(message));
  };

  const sentOut = (message: Message) => {
    pending--;
    if (message.waited) stats.retried++;
  };

  /** False when the message was dropped instead: too many wait already. Its window runs from its first wait. */
  const startWaiting = (message: Message): boolean => {
    if (message.waitingNow) return true;
    if (waiting >= MAX_WAITING_FOR_REDIS) {
      drop(message, "too many waiting for Redis");
      return false;
    }
    waiting++;
    message.waitingNow = message.waited = true;
    if (message.giveUpAt === 0) message.giveUpAt = performance.now() + retryWindowMs;
    return true;
  };

  const stopWaiting = (message: Message) => {
    if (!message.waitingNow) return;
    waiting--;
    message.waitingNow = false;
  };

  /** An append of this message left and its answer did not come back: Redis may hold it. */
  const mayHaveBeenAppended = (message: Message) => message.recorded && message.historyId === undefined && message.appendSent;

  /**
   * Runs once a failed topic has no command in flight: its messages one by one, oldest first,
   * until Redis took one and no append is left to look for; then the rest go out pipelined.
   */
  const retry = async (queue: TopicQueue) => {
    queue.messages = queue.messages.filter(startWaiting);
    await redisBack();
    let redisTookOne = false;
    while (queue.messages.length > 0) {
      const message = queue.messages[0]!;
      if (redisTookOne && !mayHaveBeenAppended(message)) break;
      let sent = false;
      while (performance.now() < message.giveUpAt && !(sent = await attempt(message))) await redisBack();
      queue.messages.shift();
      stopWaiting(message);
      if (sent) {
        sentOut(message);
        redisTookOne = true;
      } else drop(message, "Redis did not come back in time");
    }
    for (const message of queue.messages) stopWaiting(message);
    queue.failed = false;
    advance(queue);
  };

  return {
    stats,
    get pending() {
      return pending;
    },
    forward(broadcast) {
      let queue = topics.get(broadcast.topic);
      if (queue === undefined) {
        queue = { topic: broadcast.topic, messages: [], inFlight: 0, failed: false };
        topics.set(broadcast.topic, queue);
      }
      const recorded = history.accepts(broadcast.topic, broadcast.payload);
      const message: Message = {
        broadcast,
        queue,
        recorded,
        messageKey: recorded ? `${options.holder}:${sequence++}` : "",
        historyId: undefined,
        step: "queued",
        appendSent: false,
        giveUpAt: 0,
        waitingNow: false,
        waited: false,
      };
      pending++;
      if (!queue.failed) {
        queue.messages.push(message);
        advance(queue);
      } else if (startWaiting(message)) {
        queue.messages.push(message);
      }
    },
  };
}
