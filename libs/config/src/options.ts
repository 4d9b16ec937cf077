import { z } from "zod";
import { boolean, integer, list, oneOf, parseUrl, text, url, type ValueType } from "./value-types.ts";

/**
 * Every option of switchboard, in one table: the loader, the `Config` type and the reference
 * documentation are all derived from it, so an option cannot exist in one and be missing in another.
 * The TOML name is the snake_case of the key, under `[switchboard]`.
 */

/** Phoenix V2 binary frames carry topic and event lengths in a single byte. */
const BINARY_FRAME_STRING_LIMIT = 255;
const MAX_INT = Number.MAX_SAFE_INTEGER;
/** A DNS name, an IPv4 address, or an IPv6 address (bracketed or not): what `listen()` and a URL accept. */
const HOST_PATTERN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[?[0-9A-Fa-f:.]+\]?)$/;

/** Where an option's default comes from. */
type Default<T> =
  | { readonly kind: "value"; readonly value: T }
  | { readonly kind: "derived"; readonly text: string }
  | { readonly kind: "none" };

export interface OptionSpec<T, Value> {
  readonly env: string;
  readonly type: ValueType<T>;
  readonly default: Default<T>;
  readonly description: string;
  /** Type-level only (never set): what the resolved config holds for this option. */
  readonly _value?: [Value];
}

function option<T>(env: string, type: ValueType<T>, value: T, description: string): OptionSpec<T, T> {
  return { env, type, default: { kind: "value", value }, description };
}

function optional<T>(env: string, type: ValueType<T>, description: string): OptionSpec<T, T | undefined> {
  return { env, type, default: { kind: "none" }, description };
}

/** Defaults computed from other options or the machine at load time (see `resolve.ts`). */
function derived<T>(env: string, type: ValueType<T>, defaultText: string, description: string): OptionSpec<T, T> {
  return { env, type, default: { kind: "derived", text: defaultText }, description };
}

/** HMAC only: the key is one shared secret, and mixing HMAC with public-key algorithms on the same
 * key material is the classic algorithm-confusion attack. `none` would accept unsigned tokens. */
export const JWT_ALGORITHMS = ["HS256", "HS384", "HS512"] as const;
const jwtAlgorithm = z.string().trim().refine((value) => value.toLowerCase() !== "none", {
  error: '"none" is refused: it would accept unsigned tokens',
}).pipe(z.enum(JWT_ALGORITHMS, { error: `expected one of ${JWT_ALGORITHMS.join(", ")}` }));

/** `*`, or a scheme+host+port origin without a path; kept normalized (`URL.origin`). */
const originItem = z
  .string()
  .trim()
  .refine(
    (value) => {
      if (value === "*") return true;
      const parsed = parseUrl(value);
      return (
        parsed !== undefined &&
        (parsed.protocol === "http:" || parsed.protocol === "https:") &&
        parsed.pathname === "/" &&
        parsed.search === "" &&
        parsed.hash === ""
      );
    },
    { error: 'expected "*" or an origin like https://app.example.com (scheme, host, optional port; no path)' },
  )
  .transform((value) => (value === "*" ? value : new URL(value).origin));

/** Same grammar as join-token channel claims: `*`, an exact topic, or `prefix:*`. */
const topicPattern = z
  .string()
  .trim()
  .max(BINARY_FRAME_STRING_LIMIT, { error: `expected at most ${BINARY_FRAME_STRING_LIMIT} bytes` })
  .regex(/^(?:\*|[^*\s]+(?::\*)?)$/, { error: 'expected "*", an exact topic, or "prefix:*"' });

const topicPatterns = list(topicPattern, { summary: "comma list of topic patterns" });

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export const TOKEN_ENDPOINT_MODES = ["open", "protected", "off"] as const;

export const OPTIONS = {
  port: option("PORT", integer(0, 65535), 4000, "HTTP/WebSocket listen port (tangram's own default is 2347; ours is 4000 unless a file says otherwise)."),
  host: option("HOST", text({ pattern: HOST_PATTERN, patternHint: "expected a hostname or an IP address" }), "127.0.0.1", "Listen address. Use 0.0.0.0 to accept connections from other machines."),
  redisUrl: optional("REDIS_URL", url(["redis", "rediss", "unix"]), "Redis for fan-out, presence and the bridge. Unset: `npm start` starts a private redis-server."),
  redisKeyPrefix: option("REDIS_KEY_PREFIX", text(), "sb:", "Prefix of every Redis key and channel this cluster owns, so several clusters can share one Redis. The tangram `to:`/`from:` channels are never prefixed."),
  nodeId: derived("NODE_ID", text({ pattern: /^[A-Za-z0-9._:-]{1,128}$/, patternHint: "expected 1–128 characters of A-Z a-z 0-9 . _ : -" }), "<hostname>-<pid>", "Name of this node in logs, metrics and the cluster registry; must be unique per running process."),
  jwtSecret: derived("JWT_SECRET", text({ secret: true }), "random per start (warning)", "HMAC key for join tokens. Every node and the token issuer need the same one; a random one does not survive restarts."),
  jwtAlgorithms: option("JWT_ALGORITHMS", list(jwtAlgorithm, { summary: "comma list of HS256/HS384/HS512", minItems: 1 }), ["HS256"], 'Accepted token algorithms. "none" is always refused; public-key algorithms are not offered (one shared secret).'),
  jwtIssuer: optional("JWT_ISSUER", text(), "When set, tokens must carry this `iss` (and issued tokens get it)."),
  jwtAudience: optional("JWT_AUDIENCE", text(), "When set, tokens must carry this `aud` (and issued tokens get it)."),
  tokenTtlSeconds: option("TOKEN_TTL_SECONDS", integer(1, MAX_INT), 14400, "Lifetime of tokens issued by POST /token (tangram: `[channel].jwt_expiration_secs`). Hours, not years: a leaked token cannot be revoked."),
  tokenEndpoint: option("TOKEN_ENDPOINT", oneOf(TOKEN_ENDPOINT_MODES), "open", "POST /token: `open` lets anyone mint a token for any channel (tangram's behaviour, for local development; warns), `protected` requires `Authorization: Bearer <ADMIN_SECRET>`, `off` answers 404."),
  adminSecret: optional("ADMIN_SECRET", text({ secret: true }), "Bearer secret for POST /token in `protected` mode (required there). It can mint any token, including admin ones."),
  publicUrl: derived("PUBLIC_URL", url(["http", "https"]), "http://<host>:<port>", "URL clients use to reach the cluster (load balancer); its origin is allowed by default."),
  allowedOrigins: derived("ALLOWED_ORIGINS", list(originItem, { summary: 'comma list of origins, or "*"', minItems: 1 }), "origin of PUBLIC_URL, http://localhost:<port>, http://127.0.0.1:<port>", 'Browser origins allowed to open sockets and call /token (CORS). Requests without an Origin header (non-browser clients) are always allowed. "*" allows any origin.'),
  maxChannelsPerSocket: option("MAX_CHANNELS_PER_SOCKET", integer(1, MAX_INT), 100, "Joined channels per socket; a join past it is refused (Phoenix's max_channels_per_transport)."),
  maxFrameBytes: option("MAX_FRAME_BYTES", integer(1024, MAX_INT), 10485760, "Largest inbound frame or LongPoll body; larger closes the socket with 1009."),
  idleTimeoutMs: option("IDLE_TIMEOUT_MS", integer(1000, MAX_INT), 60000, "A socket that sends nothing (not even a heartbeat, every 30 s in phoenix.js) this long is closed so the client reconnects."),
  sendQueueBytes: option("SEND_QUEUE_BYTES", integer(1024, MAX_INT), 8388608, "Bytes queued to one slow socket before it is closed as a slow consumer; bounds memory per socket."),
  pushRatePerSecond: option("PUSH_RATE_PER_SECOND", integer(1, MAX_INT), 100, "Sustained client pushes per socket per second (token bucket with a burst of 2× this); excess pushes get an error reply."),
  maxConnectionsPerIp: option("MAX_CONNECTIONS_PER_IP", integer(0, MAX_INT), 0, "Open sockets per client IP on one node; 0 turns the limit off."),
  maxTopicBytes: option("MAX_TOPIC_BYTES", integer(1, BINARY_FRAME_STRING_LIMIT), 255, "Longest topic accepted (binary frames cannot carry more than 255 bytes)."),
  maxEventBytes: option("MAX_EVENT_BYTES", integer(1, BINARY_FRAME_STRING_LIMIT), 255, "Longest event name accepted (binary frames cannot carry more than 255 bytes)."),
  maxForwardPayloadBytes: option("MAX_FORWARD_PAYLOAD_BYTES", integer(1, MAX_INT), 65536, "Largest client push forwarded to a backend through `from:`; larger gets an error reply, so one client cannot flood Redis."),
  longPollWindowMs: option("LONGPOLL_WINDOW_MS", integer(100, MAX_INT), 20000, "How long a LongPoll GET waits for messages before answering 204 (Phoenix: 20 s)."),
  longPollSessionTimeoutMs: option("LONGPOLL_SESSION_TIMEOUT_MS", integer(1000, MAX_INT), 15000, "A LongPoll session with no poll this long is closed; its channels leave."),
  longPollMaxBatch: option("LONGPOLL_MAX_BATCH", integer(1, MAX_INT), 100, "Most ndjson lines in one LongPoll POST."),
  drainWindowMs: option("DRAIN_WINDOW_MS", integer(0, MAX_INT), 10000, "On SIGTERM, sockets are closed (1012) spread over this window so clients do not reconnect all at once."),
  exampleRooms: option("EXAMPLE_ROOMS", boolean, true, "Serve the example `rooms:*` chat channel."),
  bridgePatterns: option("BRIDGE_PATTERNS", topicPatterns, ["*"], 'Topics handled by the tangram bridge route (token-checked joins, pushes to `from:`). "*" = every topic no other handler claims.'),
  envelopePatterns: option("ENVELOPE_PATTERNS", topicPatterns, [], "Bridge topics whose pushes are published as an envelope (sender, ref, …) a backend can reply to, instead of the bare payload."),
  recoveryPatterns: option("RECOVERY_PATTERNS", topicPatterns, [], "Topics whose broadcasts are kept in a bounded Redis Stream so a rejoining client can recover what it missed."),
  historyMaxLength: option("HISTORY_MAX_LENGTH", integer(1, MAX_INT), 1000, "Messages kept per recovery topic."),
  historyTtlSeconds: option("HISTORY_TTL_SECONDS", integer(1, MAX_INT), 300, "Age after which recovery history is dropped; older gaps answer `recovered: false`."),
  systemTickMs: option("SYSTEM_TICK_MS", integer(10, MAX_INT), 1000, "Interval of the `system` channel's `datetime` push."),
  logLevel: option("LOG_LEVEL", oneOf(LOG_LEVELS), "info", "pino log level."),
  webRoot: optional("WEB_ROOT", text(), "Directory of static files served at /; unset serves none."),
} as const;

type Options = typeof OPTIONS;
export type OptionKey = keyof Options;
type ValueOf<O> = O extends { readonly _value?: [infer Value] } ? Value : never;

/** The resolved, frozen configuration of one node. */
export type Config = { readonly [K in OptionKey]: ValueOf<Options[K]> };

export type TokenEndpointMode = (typeof TOKEN_ENDPOINT_MODES)[number];
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];
export type LogLevel = (typeof LOG_LEVELS)[number];

export function tomlName(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}
