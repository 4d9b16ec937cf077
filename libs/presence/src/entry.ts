import * as Y from "yjs";
import type { Meta, PresenceMeta } from "./types.ts";

/**
 * The one Yjs map of a node's document: every entry of every topic, keyed by `entryKey(topic,
 * member id)`. Flat rather than a nested map per topic: a join to a new topic is one Yjs item to
 * encode, send, decode and integrate on every node instead of two (the topic's map and the entry),
 * and no `Y.Map` instance per topic is kept on any node.
 */
export const ENTRIES_MAP = "entries";

/** Length-prefixed: topics and member ids may hold any character, so no separator alone would be unambiguous. */
export function entryKey(topic: string, memberId: string): string {
  return `${topic.length}:${topic}${memberId}`;
}

/** The (topic, member id) of an `entryKey`; undefined for a key no owner writes. */
export function parseEntryKey(key: string): { topic: string; memberId: string } | undefined {
  const colon = key.indexOf(":");
  const length = Number(key.slice(0, colon));
  if (colon <= 0 || !Number.isSafeInteger(length) || length < 0 || colon + 1 + length > key.length) return undefined;
  return { topic: key.slice(colon + 1, colon + 1 + length), memberId: key.slice(colon + 1 + length) };
}

/**
 * A node's presence document. Yjs would draw a random uuid as its guid (31
 * `crypto.getRandomValues` calls, 88 µs: measured as the join path's largest cost when every new
 * topic created a document); the guid only names subdocuments, which presence has none of. The
 * client id stays random: it is what must be unique per writer.
 */
export function presenceDoc(): Y.Doc {
  return new Y.Doc({ guid: ENTRIES_MAP });
}

/**
 * One tracked (topic, member) as stored in the Yjs map under its `entryKey`. `order` sorts metas in
 * join order across nodes (join time in ms × 1000 + a per-node counter); an update keeps it, so
 * an updated meta stays in place.
 */
export interface Entry {
  key: string;
  ref: string;
  prevRef?: string;
  order: number;
  meta: Meta;
}

export function toPresenceMeta(entry: Entry): PresenceMeta {
  const meta: PresenceMeta = { ...entry.meta, phx_ref: entry.ref };
  if (entry.prevRef !== undefined) meta.phx_ref_prev = entry.prevRef;
  return meta;
}

/** Values read from a replicated document come from another process: check their shape. */
export function isEntry(value: unknown): value is Entry {
  if (typeof value !== "object" || value === null) return false;
  const entry = value as Record<string, unknown>;
  return (
    typeof entry.key === "string" &&
    typeof entry.ref === "string" &&
    (entry.prevRef === undefined || typeof entry.prevRef === "string") &&
    typeof entry.order === "number" &&
    typeof entry.meta === "object" &&
    entry.meta !== null &&
    !Array.isArray(entry.meta)
  );
}

export function compareJoinOrder(a: Entry, b: Entry): number {
  if (a.order !== b.order) return a.order - b.order;
  return a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0;
}
