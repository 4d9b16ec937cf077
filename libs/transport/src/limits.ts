/**
 * Defaults of the transport limits, each with its unit and the reason for its value. The gateway's
 * config overrides them; tests shrink them to keep suites fast.
 */

/** ms without a client frame before the connection is closed with IDLE_TIMEOUT: Phoenix's websocket timeout. phoenix.js heartbeats every 30 s, so a live client never hits it. */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

/**
 * Idle checks per idle timeout (idle-sweep.ts): a silent connection is closed between 1 and
 * 1 + 1/IDLE_CHECKS_PER_TIMEOUT timeouts after its last frame (60–67.5 s at the default), for one
 * walk over a node's connections every timeout/8 instead of a timer per connection.
 */
export const IDLE_CHECKS_PER_TIMEOUT = 8;

/** bytes in one WebSocket frame or one LongPoll POST body: Phoenix's default max_frame_size. Past it: close 1009 / `{"status":413}`. */
export const DEFAULT_MAX_FRAME_BYTES = 10 * 1024 * 1024;

/** bytes queued for one client and not yet on the wire. Past it the client cannot keep up and is closed with SLOW_CONSUMER instead of growing memory without bound. */
export const DEFAULT_SEND_QUEUE_BYTES = 4 * 1024 * 1024;

/** ms a poll is held open waiting for messages before `{"status":204}`: Phoenix's long-poll window. */
export const DEFAULT_LONGPOLL_WINDOW_MS = 20_000;

/** ms without a poll before a LongPoll session is closed: Phoenix's pubsub_timeout_ms. */
export const DEFAULT_LONGPOLL_SESSION_TIMEOUT_MS = 15_000;

/** lines in one ndjson POST: phoenix.js MAX_LONGPOLL_BATCH_SIZE, so a stock client never exceeds it. */
export const DEFAULT_LONGPOLL_MAX_BATCH_LINES = 100;

/**
 * engine.io's own heartbeat runs between the engine.io Socket and our transports only: they answer
 * every ping on the client's behalf (Phoenix clients heartbeat at the channel layer). The interval
 * is long because each ping is pure overhead; the idle timeout is what detects dead clients.
 */
export const ENGINE_PING_INTERVAL_MS = 300_000;
export const ENGINE_PING_TIMEOUT_MS = 60_000;

/**
 * ms the server waits for the client's close frame after sending its own before dropping the TCP
 * connection (ws's default is 30 s). A client that stopped reading (SLOW_CONSUMER) never answers,
 * and its queued bytes stay in memory until then.
 */
export const CLOSE_HANDSHAKE_TIMEOUT_MS = 5_000;

/** Longest close reason RFC 6455 allows (125-byte control frame minus the 2-byte code). */
export const MAX_CLOSE_REASON_BYTES = 123;
