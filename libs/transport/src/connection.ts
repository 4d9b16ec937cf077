import { EventEmitter } from "node:events";
import type { IncomingHttpHeaders } from "node:http";
import type { Socket } from "engine.io";
import type { Logger } from "pino";
import { CloseCode } from "@switchboard/protocol";
import type { Frame, Serializer } from "@switchboard/protocol";
import type { FrameCarrier } from "./phoenix-transport.ts";
import { Rfc6455 } from "./rfc6455-codes.ts";
import type { Connection, TransportKind } from "./types.ts";


export interface ConnectionLimits {
  idleTimeoutMs: number;
  sendQueueBytes: number;
}

function onIdle(connection: EngineConnection): void {
  connection.close(CloseCode.IDLE_TIMEOUT, "idle timeout");
}

function checkSendQueue(connection: EngineConnection): void {
  connection.checkSendQueue();
}

/** A Phoenix connection over one engine.io Socket. */
export class EngineConnection extends EventEmitter implements Connection {
  readonly id: string;
  readonly transport: TransportKind;
  readonly serializer: Serializer;
  readonly params: Readonly<Record<string, string>>;
  readonly remoteAddress: string;
  readonly headers: IncomingHttpHeaders;
  private readonly idleTimer: NodeJS.Timeout;
  private closed = false;
  private queueCheckScheduled = false;

  constructor(
    /** engine.io's socket id (its transports carry it as `sid`). */
    id: string,
    private readonly socket: Socket,
    private readonly carrier: FrameCarrier,
    private readonly limits: ConnectionLimits,
    private readonly logger: Logger,
  ) {
    super();
    this.id = id;
    this.transport = carrier.kind;
    this.serializer = carrier.context.serializer;
    this.params = carrier.context.params;
    this.remoteAddress = socket.remoteAddress ?? "";
    this.headers = socket.request.headers;
    this.idleTimer = setTimeout(onIdle, limits.idleTimeoutMs, this);
    socket.on("message", (frame: Frame) => this.receive(frame));
    socket.once("close", (reason: string) => this.onSocketClose(reason));
  }

  get bufferedBytes(): number {
    return this.carrier.bufferedBytes;
  }

  write(frame: Frame): void {
    if (this.closed) return;
    this.carrier.sendFrame(frame);
    // Judged once this tick's writes had their chance to reach the kernel: a burst written in one
    // tick is corked, so the queue briefly holds it even for a client that reads fast.
    if (!this.queueCheckScheduled && this.carrier.bufferedBytes > this.limits.sendQueueBytes) {
      this.queueCheckScheduled = true;
      setImmediate(checkSendQueue, this);
    }
  }

  checkSendQueue(): void {
    this.queueCheckScheduled = false;
    const bufferedBytes = this.carrier.bufferedBytes;
    if (this.closed || bufferedBytes <= this.limits.sendQueueBytes) return;
    this.logger.warn({ socket: this.id, bufferedBytes, limit: this.limits.sendQueueBytes }, "slow consumer, closing");
    this.close(CloseCode.SLOW_CONSUMER, "slow consumer");
  }

  close(code: number, reason = ""): void {
    if (this.closed) return;
    this.carrier.recordClose(code, reason);
    // discard: do not wait for engine.io's write buffer to drain (ours is empty; a stuck client would never drain).
    this.socket.close(true);
  }

  private receive(frame: Frame): void {
    this.idleTimer.refresh();
    // The listener runs inside ws's or engine.io's I/O callbacks, where a throw would end the process.
    try {
      this.emit("frame", frame);
    } catch (error) {
      this.logger.error({ err: error, socket: this.id }, "frame listener failed, closing");
      // A listener that throws leaves the connection in an unknown state.
      this.close(Rfc6455.INTERNAL_ERROR, "internal error");
    }
  }

  private onSocketClose(engineReason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
    const code = this.carrier.closeCode ?? Rfc6455.ABNORMAL_CLOSURE;
    const reason = this.carrier.closeReason;
    this.logger.debug({ socket: this.id, transport: this.transport, code, reason, engineReason }, "connection closed");
    this.emit("close", code, reason);
  }
}
