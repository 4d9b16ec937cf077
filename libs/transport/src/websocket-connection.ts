import { randomBytes } from "node:crypto";
import type { Duplex } from "node:stream";
import WebSocket from "ws";
import type { RawData } from "ws";
import { CloseCode } from "@switchboard/protocol";
import type { Frame } from "@switchboard/protocol";
import { BaseConnection } from "./connection.ts";
import type { ConnectionHost, Handshake } from "./connection.ts";
import { MAX_CLOSE_REASON_BYTES } from "./limits.ts";
import { compactListenerTable } from "./listener-table.ts";
import { Rfc6455 } from "./rfc6455-codes.ts";
import type { TransportKind } from "./types.ts";
import { wireBytesOf } from "./ws-frame.ts";

/** The codes ws closes with after its own errors, for the close event we report. */
const CLOSE_CODE_BY_WS_ERROR: Record<string, number> = {
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: CloseCode.MESSAGE_TOO_BIG,
  WS_ERR_INVALID_UTF8: Rfc6455.INVALID_PAYLOAD,
};

/** The code ws closed with after one of its errors: its own WS_ERR_* codes are protocol violations by the peer. */
function closeCodeFor(error: Error & { code?: string }): number {
  if (!error.code?.startsWith("WS_ERR_")) return Rfc6455.ABNORMAL_CLOSURE;
  return CLOSE_CODE_BY_WS_ERROR[error.code] ?? Rfc6455.PROTOCOL_ERROR;
}

function truncateReason(reason: string): string {
  const bytes = Buffer.from(reason);
  return bytes.length <= MAX_CLOSE_REASON_BYTES ? reason : bytes.subarray(0, MAX_CLOSE_REASON_BYTES).toString("utf8").replace(/\uFFFD$/, "");
}

/**
 * Random bytes in a WebSocket connection's id: 15 make 20 base64url characters, the length and
 * alphabet of engine.io's ids (which LongPoll sessions keep), so every connection id looks alike.
 */
const CONNECTION_ID_BYTES = 15;

export function newConnectionId(): string {
  return randomBytes(CONNECTION_ID_BYTES).toString("base64url");
}

/**
 * ws's WebSocket, knowing its connection (ws builds it through its `WebSocket` option). ws calls
 * listeners with the socket as `this`, so one module-level listener per event serves every socket
 * instead of closures made per connection.
 */
export class PhoenixWebSocket extends WebSocket {
  connection!: WebSocketConnection;
}

/** ws's listener types know its own class only; every socket of ours is built as a PhoenixWebSocket. */
function connectionOf(ws: WebSocket): WebSocketConnection {
  return (ws as PhoenixWebSocket).connection;
}

/** The part of ws's (8.23) Receiver used below: the chunks it has read and not consumed yet. */
interface ReceiverChunks {
  _buffers?: Buffer[];
}

/**
 * ws's Receiver queues each chunk it reads in one array for the socket's life and shifts it out
 * again: after the first message that array keeps a backing store for 16 chunks (≈ 150 B per
 * connection, measured). When the queue is empty it is swapped for a new array, which holds none.
 * Left alone if a ws release names it otherwise (a test checks the name).
 */
function releaseChunkQueue(ws: WebSocket): void {
  const receiver = (ws as unknown as { _receiver?: ReceiverChunks })._receiver;
  if (receiver?._buffers?.length === 0) receiver._buffers = [];
}

function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  releaseChunkQueue(this);
  // ws hands over Buffers (its default binaryType); text frames become strings, as Phoenix frames are.
  connectionOf(this).receive(isBinary ? (data as Buffer) : data.toString());
}

function onError(this: WebSocket, error: Error): void {
  connectionOf(this).failed(error);
}

function onClose(this: WebSocket, code: number, reason: Buffer): void {
  connectionOf(this).closed(code, reason.toString());
}

/**
 * Connections written to in this turn of the event loop. Each socket is corked on its first write
 * and all are uncorked together once the turn's I/O callbacks are done (`setImmediate`, as raw `ws`
 * fan-out servers do), so a burst (a broadcast, a batch of replies) leaves as one writev per
 * socket, at the cost of one scheduled callback per turn rather than per socket. Not `nextTick`:
 * a node behind on its cluster subscription reads several Redis chunks per turn, and flushing
 * after each chunk made a writev per socket per chunk (saturation bench: writev syscalls were the
 * largest item of a gateway node's profile).
 */
let corkedConnections: WebSocketConnection[] = [];

function uncorkAll(): void {
  const connections = corkedConnections;
  corkedConnections = [];
  for (const connection of connections) connection.uncork();
}

/**
 * A stock Phoenix client's WebSocket, served by ws directly: one WebSocket message per Phoenix
 * frame, text or binary as the frame is. Phoenix clients heartbeat inside their channel protocol,
 * so nothing here pings; the idle timeout finds dead clients.
 */
export class WebSocketConnection extends BaseConnection {
  private corked = false;

  constructor(
    id: string,
    handshake: Handshake,
    private readonly ws: PhoenixWebSocket,
    /** The TCP socket under `ws`, written to directly (see `send`). */
    private readonly socket: Duplex,
    host: ConnectionHost,
  ) {
    super(id, handshake, host);
    ws.connection = this;
    // `on`, not `once`, for close too: ws emits it once, and `once` wraps the listener per socket.
    ws.on("message", onMessage);
    ws.on("error", onError);
    ws.on("close", onClose);
    // ws adds no listener to its WebSocket on a server: these three are all, for its life.
    compactListenerTable(ws);
  }

  get transport(): TransportKind {
    return "websocket";
  }

  get bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  /**
   * The frame's WebSocket bytes go straight to the TCP socket, past `ws.send`: ws keeps no state
   * per data frame without extensions, and the bytes of a broadcast are framed once for all.
   */
  protected send(frame: Frame): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      if (corkedConnections.push(this) === 1) setImmediate(uncorkAll);
    }
    this.socket.write(wireBytesOf(frame));
  }

  uncork(): void {
    this.corked = false;
    this.socket.uncork();
  }

  /** Sends the close frame; ws drops the TCP connection if the client's close frame does not come within its closeTimeout. */
  protected shut(code: number, reason: string): void {
    try {
      this.ws.close(code, truncateReason(reason));
    } catch {
      // ws refuses codes a peer may not receive (1005, 1006, out of range): drop the socket instead.
      this.ws.terminate();
    }
    this.end(code, reason, "server close");
  }

  /** ws closes the socket itself after an error (with a close frame for a peer's protocol violation). */
  failed(error: Error): void {
    this.host.logger.debug({ err: error, socket: this.id }, "websocket error");
    this.end(closeCodeFor(error), error.message, "websocket error");
  }

  closed(code: number, reason: string): void {
    this.end(code, reason, "websocket closed");
  }
}
