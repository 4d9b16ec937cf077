import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import type { Frame, Serializer } from "@switchboard/protocol";
import type { LongPollRelay } from "./longpoll-relay.ts";

/** `engineio`: engine.io's own clients (polling, upgraded to WebSocket), Phoenix V2 frames inside its messages. */
export type TransportKind = "websocket" | "longpoll" | "engineio";

/** One client connection, whatever carries it. Frames in and out are raw: decoding is the caller's job. */
export interface Connection {
  /** Unique per connection: engine.io's socket id (LongPoll, engine.io clients) or one of the same form (WebSocket). */
  readonly id: string;
  readonly transport: TransportKind;
  /** Negotiated from `?vsn=`; LongPoll always gets the text-only variant. */
  readonly serializer: Serializer;
  /** Connect params from the query string (vsn removed); a phoenix.js ≥1.8 `authToken` lands in `authToken`. */
  readonly params: Readonly<Record<string, string>>;
  readonly remoteAddress: string;
  /** Bytes queued and not yet on the wire. */
  readonly bufferedBytes: number;
  /** One encoded frame; non-blocking. Past `sendQueueBytes` the connection is closed with SLOW_CONSUMER. */
  write(frame: Frame): void;
  /** Idempotent. WebSocket: close frame with this code; LongPoll: the session ends. */
  close(code: number, reason?: string): void;
  on(event: "frame", listener: (frame: Frame) => void): this;
  /** Emitted exactly once, with the code the connection ended with (1006 when it just broke). */
  on(event: "close", listener: (code: number, reason: string) => void): this;
}

export interface ConnectInfo {
  params: Readonly<Record<string, string>>;
  headers: IncomingHttpHeaders;
  remoteAddress: string;
}

export interface LongPollOptions {
  /** ms a poll waits for messages before `{"status":204}`. */
  windowMs: number;
  /** ms without a poll before the session closes. */
  sessionTimeoutMs: number;
  /** Most ndjson lines in one POST; more → `{"status":413}`. */
  maxBatchLines: number;
  /** Carries requests for sessions owned by other nodes to their owner; without it such a token counts as unknown (410). */
  relay?: LongPollRelay;
}

export interface TransportOptions {
  /** Socket mount points: "/socket" serves /socket/websocket, /socket/longpoll and /socket/engine.io/; "/websocket" also serves tangram's bare /websocket. */
  paths: string[];
  /** false → HTTP 403, no upgrade, no session. */
  checkOrigin(origin: string | undefined): boolean;
  /** Phoenix connect/3: false → 403 (WebSocket: HTTP 403; LongPoll: `{"status":403}`, which stops the stock client). */
  authorize?(info: ConnectInfo): boolean | Promise<boolean>;
  idleTimeoutMs: number;
  maxFrameBytes: number;
  sendQueueBytes: number;
  longPoll: LongPollOptions;
  /** Signs LongPoll session tokens; every node of a cluster shares it. */
  secret: string;
  nodeId: string;
  logger: Logger;
  onConnection(connection: Connection): void;
}

export interface TransportServer {
  /** true when the path is ours (the gateway's http server asks this first). */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Drain: new connections get 503; open ones keep working. */
  stopAccepting(): void;
  connectionCount(): Record<TransportKind, number>;
  /** Closes every connection (GOING_AWAY) and engine.io. */
  close(): Promise<void>;
}
