import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import WebSocket from "ws";
import { CloseCode } from "@switchboard/protocol";
import type { Frame } from "@switchboard/protocol";
import { MAX_CLOSE_REASON_BYTES } from "./limits.ts";
import { PhoenixTransport, WEBSOCKET_TRANSPORT } from "./phoenix-transport.ts";
import { Rfc6455 } from "./rfc6455-codes.ts";

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

const AS_TEXT = { binary: false };
const AS_BINARY = { binary: true };

// A broadcast writes the same string to many sockets in a row: convert it to bytes once, not once
// per socket (ws would otherwise Buffer.from() it for every send).
let lastText: string | undefined;
let lastTextBytes = Buffer.alloc(0);
function textBytes(text: string): Buffer {
  if (text !== lastText) {
    lastText = text;
    lastTextBytes = Buffer.from(text);
  }
  return lastTextBytes;
}

function uncork(transport: PhoenixWebSocketTransport): void {
  transport.uncork();
}

type UpgradedRequest = IncomingMessage & { _query: Record<string, string>; websocket?: WebSocket };

/** Raw Phoenix frames over a WebSocket: one WebSocket message per Phoenix frame, text or binary as the frame is. */
export class PhoenixWebSocketTransport extends PhoenixTransport {
  readonly kind = "websocket";
  private readonly ws: WebSocket;
  private readonly rawSocket: Socket;
  private corked = false;

  constructor(req: UpgradedRequest) {
    super(req);
    if (!req.websocket) throw new Error("phoenix websocket transport without an upgraded socket");
    this.ws = req.websocket;
    this.rawSocket = req.socket;
    this.ws.on("message", (data, isBinary) => this.receiveFrame(isBinary ? (data as Buffer) : data.toString()));
    this.ws.once("close", (code, reason) => {
      this.recordClose(code, reason.toString());
      this.onClose();
    });
    this.ws.on("error", (error: Error & { code?: string }) => {
      this.recordClose(closeCodeFor(error), error.message);
      this.context.logger.debug({ err: error, socket: this.sid }, "websocket error");
      this.onError("websocket error", error);
    });
  }

  get name(): string {
    return WEBSOCKET_TRANSPORT;
  }

  /** engine.io only hands upgraded requests to transports that say so. */
  get handlesUpgrades(): boolean {
    return true;
  }

  get bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  protected writeFrame(frame: Frame): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    // Frames written in one tick (a burst of replies, a broadcast) leave in one writev.
    if (!this.corked) {
      this.corked = true;
      this.rawSocket.cork();
      process.nextTick(uncork, this);
    }
    if (typeof frame === "string") this.ws.send(textBytes(frame), AS_TEXT);
    else this.ws.send(frame, AS_BINARY);
  }

  uncork(): void {
    this.corked = false;
    this.rawSocket.uncork();
  }

  doClose(done?: () => void): void {
    try {
      this.ws.close(this.closeCode, truncateReason(this.closeReason));
    } catch {
      // ws refuses codes a peer may not receive (1005, 1006, out of range): drop the socket instead.
      this.ws.terminate();
    }
    done?.();
  }
}

function truncateReason(reason: string): string {
  const bytes = Buffer.from(reason);
  return bytes.length <= MAX_CLOSE_REASON_BYTES ? reason : bytes.subarray(0, MAX_CLOSE_REASON_BYTES).toString("utf8").replace(/\uFFFD$/, "");
}
