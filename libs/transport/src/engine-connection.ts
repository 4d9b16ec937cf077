import type { Socket } from "engine.io";
import type { Frame } from "@switchboard/protocol";
import { BaseConnection } from "./connection.ts";
import type { ConnectionHost } from "./connection.ts";
import type { FrameCarrier } from "./phoenix-transport.ts";
import type { TransportKind } from "./types.ts";

/** A connection over one engine.io Socket: a Phoenix LongPoll session, or an engine.io client. */
export class EngineConnection extends BaseConnection {
  constructor(
    private readonly socket: Socket,
    private readonly carrier: FrameCarrier,
    host: ConnectionHost,
  ) {
    // engine.io's socket id, as its transports carry it.
    super(socket.transport.sid, { ...carrier.context, remoteAddress: socket.remoteAddress ?? "" }, host);
    socket.on("message", (frame: Frame) => this.receive(frame));
    socket.once("close", (engineReason: string) => this.end(carrier.closeCode, carrier.closeReason, engineReason));
  }

  get transport(): TransportKind {
    return this.carrier.kind;
  }

  get bufferedBytes(): number {
    return this.carrier.bufferedBytes;
  }

  protected send(frame: Frame): void {
    this.carrier.sendFrame(frame);
  }

  protected shut(code: number, reason: string): void {
    this.carrier.recordClose(code, reason);
    // discard: do not wait for engine.io's write buffer to drain (ours is empty; a stuck client would never drain).
    this.socket.close(true);
  }
}
