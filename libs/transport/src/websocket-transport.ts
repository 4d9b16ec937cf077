import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import WebSocket from "ws";
import { CloseCode } from "@switchboard/protocol";
import type { Frame } from "@switchboard/protocol";
import { MAX_CLOSE_REASON_BYTES } from "./limits.ts";
import { PhoenixTransport, WEBSOCKET_TRANSPORT } from "./phoenix-transport.ts";
import { Rfc6455 } from "./rfc6455-codes.ts";
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

/**
 * Sockets written to in this tick. Each is corked on its first write and all are uncorked
 * together once the tick's writes are done, so a burst (a broadcast, a batch of replies) leaves
 * as one writev per socket, at the cost of one scheduled callback per tick rather than per socket.
 */
let corkedTransports: PhoenixWebSocketTransport[] = [];

function uncorkAll(): void {
  const transports = corkedTransports;
  corkedTransports = [];
  for (const transport of transports) transport.uncork();
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

  /**
   * The frame's WebSocket bytes go straight to the TCP socket, past `ws.send`: ws keeps no state
   * per data frame without extensions, and the bytes of a broadcast are framed once for all.
   */
  protected writeFrame(frame: Frame): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (!this.corked) {
      this.corked = true;
      this.rawSocket.cork();
      if (corkedTransports.push(this) === 1) process.nextTick(uncorkAll);
    }
    this.rawSocket.write(wireBytesOf(frame));
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
