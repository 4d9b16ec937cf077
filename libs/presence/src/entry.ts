import * as Y from "yjs";
import type { Meta, PresenceMeta } from "./types.ts";

/** The root Yjs map of a node's document: topic → a nested map of that topic's entries, keyed by member id. */
export const TOPICS_MAP = "topics";

/**
 * A node's presence document. Yjs would draw a random uuid as its guid (31
 * `crypto.getRandomValues` calls, 88 µs: measured as the join path's largest cost when every new
 * topic created a document); the guid only names subdocuments, which presence has none of. The
 * client id stays random: it is what must be unique per writer.
 */
export function presenceDoc(): Y.Doc {
  return new Y.Doc({ guid: TOPICS_MAP });
}

/**
 * One tracked (topic, member) as stored in a Yjs map under the member id. `order` sorts metas in
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
