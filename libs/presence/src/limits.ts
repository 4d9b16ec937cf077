/** Every Redis key and channel starts with it unless the gateway configures another. */
export const DEFAULT_KEY_PREFIX = "sb:";

/**
 * Liveness key lifetime. A SIGKILLed node stops refreshing; survivors notice within one check
 * interval after expiry, so its entries vanish everywhere within TTL + TTL / CHECKS_PER_TTL
 * (3.5 s), under the 5 s target.
 */
export const DEFAULT_LIVENESS_TTL_MS = 3_000;
/** Refreshes per TTL: a node must miss this many in a row (a long event-loop stall) to be declared dead. */
export const REFRESHES_PER_TTL = 3;
/** Liveness checks per TTL: bounds how late after expiry the survivors notice. */
export const CHECKS_PER_TTL = 6;

/** Local changes are published together after this tick: a burst of 1,000 joins is a handful of messages. */
export const DEFAULT_FLUSH_INTERVAL_MS = 20;

/**
 * Topics with this many entries (cluster-wide) or more get one `presence_diff` per batch window
 * instead of one per change: below it a join costs at most this many frames here and keeps
 * Phoenix's frame order (the joiner's own diff before its `presence_state`).
 */
export const BATCHED_DIFF_MIN_ENTRIES = 16;

/**
 * A large topic's changes, local and from other nodes, reach its members as one diff per this
 * window: at most 10 diff frames per member per second however fast members come and go
 * (Phoenix's tracker batches other nodes' changes over 1.5 s). Imperceptible in a member list.
 */
export const DEFAULT_DIFF_BATCH_WINDOW_MS = 100;

/**
 * A large topic's diff is held for another window while the topic is in a burst: its window just
 * ended with at least this many changes (joins and leaves, local and received). Each window sent
 * is a frame to every member, and a joiner's `presence_state` is built anew after it (the
 * state of the window's first `list`, shared by the window's joiners): in a burst of joins spread
 * over many windows every later joiner got its own larger copy of the member list, written and
 * parsed per joiner, where one held diff carries the same members once, encoded once, as one
 * buffer for every member. 16 in 100 ms is 160 changes a second in one topic.
 */
export const BURST_CHANGES_PER_WINDOW = 16;

/**
 * How long a burst may hold a large topic's diff, from the change that started it: the longest
 * a member's list lags behind (Phoenix's tracker sends other nodes' changes every 1.5 s).
 */
export const DEFAULT_DIFF_HOLD_MAX_MS = 1_000;

/** A starting node waits this long at most for the other nodes' snapshots before it calls itself ready. */
export const HELLO_TIMEOUT_MS = 1_000;

/** An unanswered resync request (lost in an outage, or its owner died) is repeated after this. */
export const SYNC_RETRY_MS = 1_000;

/**
 * A document is rotated once its tombstones reach max(this, its live entries): the encoded state
 * stays within about twice the live entries' size, and a rotation (a full state on the wire) is
 * paid for by at least this many changes.
 */
export const MIN_TOMBSTONES_BEFORE_ROTATION = 1_000;

/** close() waits this long at most for its goodbye to reach Redis. */
export const CLOSE_TIMEOUT_MS = 1_000;
