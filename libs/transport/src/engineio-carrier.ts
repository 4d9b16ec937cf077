import type { Socket } from "engine.io";
import type { Frame } from "@switchboard/protocol";
import type { FrameCarrier, TransportContext } from "./phoenix-transport.ts";

type Packet = { type: string; data?: unknown };

function frameBytes(data: unknown): number {
  if (typeof data === "string") return Buffer.byteLength(data);
  return data instanceof Uint8Array ? data.byteLength : 0;
}

/**
 * An engine.io client's socket (engine.io's own polling and websocket transports) carrying Phoenix
 * frames as engine.io messages. engine.io queues frames until its transport can take them;
 * `bufferedBytes` counts what is queued there, so the send-queue bound holds here too.
 */
export class EngineIOCarrier implements FrameCarrier {
  readonly kind = "engineio";
  closeCode: number | undefined;
  closeReason = "";
  private queuedBytes = 0;

  constructor(
    private readonly socket: Socket,
    readonly context: TransportContext,
  ) {
    socket.on("flush", (packets: Packet[]) => {
      for (const packet of packets) if (packet.type === "message") this.queuedBytes -= frameBytes(packet.data);
    });
  }

  get bufferedBytes(): number {
    return this.queuedBytes;
  }

  recordClose(code: number, reason: string): void {
    if (this.closeCode !== undefined) return;
    this.closeCode = code;
    this.closeReason = reason;
  }

  sendFrame(frame: Frame): void {
    this.queuedBytes += frameBytes(frame);
    this.socket.send(frame);
  }
}
