import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { payloadJson } from "@switchboard/protocol";
import { historyIdBefore, historyIdTime, isAfterHistoryId, isHistoryId } from "./history-id.ts";

/** One recorded broadcast. Only JSON payloads are recorded: a binary frame has no slot for the id. */
export interface HistoryEntry {
  readonly id: string;
  readonly event: string;
  readonly payload: unknown;
}

/** What a rejoining client missed, or `recovered: false` when history no longer holds the whole gap. */
export type Recovery = { readonly recovered: true; readonly messages: readonly HistoryEntry[] } | { readonly recovered: false };

export interface HistoryOptions {
  redis: Redis;
  /** Prefix of the stream keys, the cluster's own (`sb:`). */
  keyPrefix: string;
  /** Topics whose broadcasts are recorded: `*`, an exact topic, or `prefix:*`. */
  patterns: readonly string[];
  /** Entries kept per topic (trimmed approximately, as XADD MAXLEN ~ does: a little more may stay). */
  maxLength: number;
  /** Entries older than this are trimmed, and a topic without broadcasts for this long loses its stream. */
  ttlSeconds: number;
  logger: Logger;
}

export interface History {
  records(topic: string): boolean;
  /** Whether this broadcast is recorded: a recorded topic and a JSON payload (binary has no slot for the id). */
  accepts(topic: string, payload: unknown): boolean;
  /**
   * Appends one broadcast to its topic's history and returns the id the broadcast then carries to
   * clients. Undefined when nothing was recorded: the topic matches no pattern, the payload is
   * binary, or Redis refused (logged; the broadcast still goes out, without an id).
   */
  record(topic: string, event: string, payload: unknown): Promise<string | undefined>;
  /**
   * Appends one JSON payload unconditionally; rejects when Redis did not take it. A caller that
   * retries passes a `messageKey` unique to the message and, before appending again, asks
   * `findAppended` whether the failed attempt was in fact written (Redis ran it, the answer was lost).
   */
  append(topic: string, event: string, payload: unknown, messageKey?: string): Promise<string>;
  /** The id of a recent entry appended with `messageKey`, if one of the last few carries it. */
  findAppended(topic: string, messageKey: string): Promise<string | undefined>;
  /** Entries after `lastSeen`, oldest first, when `lastSeen` itself is still held (so nothing between was trimmed). */
  since(topic: string, lastSeen: string): Promise<Recovery>;
  /**
   * Entries after `id`, oldest first, whether or not `id` itself is still held: catching up a
   * channel that stayed joined while broadcasts could not reach its node (a Redis restart wipes
   * the stream, and what was recorded since then is all after `id`).
   */
  after(topic: string, id: string): Promise<readonly HistoryEntry[]>;
  isAfter(id: string, than: string): boolean;
  /** A bound for `after` that takes in everything written from `timeMs` on. */
  idBefore(timeMs: number): string;
}

const EVENT_FIELD = "e";
const PAYLOAD_FIELD = "p";
const MESSAGE_KEY_FIELD = "k";
/**
 * How far back `findAppended` looks. One publisher per topic retries in order, so the entries
 * written after the one it looks for are its own: the later appends it had sent when the
 * connection failed, and the earlier messages it has re-appended since. A publisher keeping at
 * most half of this unanswered per topic always finds what it wrote.
 */
export const FIND_APPENDED_LOOKBACK = 64;

/**
 * Per-topic history in Redis Streams (`<prefix>history:<topic>`), for missed-message recovery
 * (as Centrifugo and AnyCable do). Written by whoever publishes a broadcast, before the publish,
 * so the broadcast carries its id; read by the node a client rejoins.
 */
export function createHistory(options: HistoryOptions): History {
  const { redis, keyPrefix, patterns, maxLength, ttlSeconds, logger } = options;
  const keyOf = (topic: string) => `${keyPrefix}history:${topic}`;
  const ttlMs = ttlSeconds * 1000;
  const records = (topic: string) => patterns.some((pattern) => (pattern.endsWith("*") ? topic.startsWith(pattern.slice(0, -1)) : pattern === topic));
  const accepts = (topic: string, payload: unknown) => records(topic) && !(payload instanceof Uint8Array);
  // MAXLEN ~ trims approximately: a stream may hold somewhat more than maxLength entries.
  const readLimit = maxLength * 2;

  const append = async (topic: string, event: string, payload: unknown, messageKey?: string): Promise<string> => {
    const key = keyOf(topic);
    const oldestKept = Date.now() - ttlMs;
    const results = await redis
      .multi()
      .xadd(key, "MAXLEN", "~", maxLength, "*", EVENT_FIELD, event, PAYLOAD_FIELD, payloadJson(payload), ...(messageKey === undefined ? [] : [MESSAGE_KEY_FIELD, messageKey]))
      .xtrim(key, "MINID", "~", oldestKept)
      .pexpire(key, ttlMs)
      .exec();
    const [error, id] = results?.[0] ?? [new Error("history append: transaction discarded"), null];
    if (error) throw error;
    if (!isHistoryId(id)) throw new Error(`history append: unexpected id ${String(id)}`);
    return id;
  };

  return {
    records,
    accepts,
    append,

    async findAppended(topic, messageKey) {
      const recent = (await redis.xrevrange(keyOf(topic), "+", "-", "COUNT", FIND_APPENDED_LOOKBACK)) as Array<[string, string[]]>;
      return recent.find(([, fields]) => fields.some((value, index) => index % 2 === 1 && fields[index - 1] === MESSAGE_KEY_FIELD && value === messageKey))?.[0];
    },
    isAfter: isAfterHistoryId,
    idBefore: historyIdBefore,

    async record(topic, event, payload) {
      if (!accepts(topic, payload)) return undefined;
      try {
        return await append(topic, event, payload);
      } catch (error) {
        logger.warn({ err: error, topic, event }, "history append failed, broadcast goes out without an id");
        return undefined;
      }
    },

    async after(topic, id) {
      const entries = (await redis.xrange(keyOf(topic), `(${id}`, "+", "COUNT", readLimit)) as Array<[string, string[]]>;
      return entries.map(entryOf);
    },

    async since(topic, lastSeen) {
      if (!isHistoryId(lastSeen) || historyIdTime(lastSeen) < Date.now() - ttlMs) return { recovered: false };
      const key = keyOf(topic);
      const results = await redis.multi().xrange(key, lastSeen, lastSeen).xrange(key, `(${lastSeen}`, "+", "COUNT", readLimit).exec();
      const [held, after] = (results ?? []).map(([error, value]) => {
        if (error) throw error;
        return value as Array<[string, string[]]>;
      });
      if (!held || held.length === 0 || !after) return { recovered: false };
      return { recovered: true, messages: after.map(entryOf) };
    },
  };
}

function entryOf([id, fields]: [string, string[]]): HistoryEntry {
  let event = "";
  let payload: unknown = null;
  for (let index = 0; index + 1 < fields.length; index += 2) {
    if (fields[index] === EVENT_FIELD) event = fields[index + 1]!;
    else if (fields[index] === PAYLOAD_FIELD) payload = JSON.parse(fields[index + 1]!);
  }
  return { id, event, payload };
}
