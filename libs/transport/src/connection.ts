import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import { CloseCode } from "@switchboard/protocol";
import type { Frame, Serializer } from "@switchboard/protocol";
import { Rfc6455 } from "./rfc6455-codes.ts";
import type { Connection, TransportKind } from "./types.ts";

/** What every connection of one server shares: its limits, its logger, and who to tell when it ended. */
export interface ConnectionHost {
  idleTimeoutMs: number;
  sendQueueBytes: number;
  logger: Logger;
  /** Called once per connection, just before its `close` event (a hook, not a listener: no wrapper per connection). */
  ended(connection: BaseConnection): void;
}

/** What a connection keeps of its handshake: copies, so the request itself is not held for the connection's life. */
export interface Handshake {
  serializer: Serializer;
  params: Record<string, string>;
  remoteAddress: string;
}

function onIdle(connection: BaseConnection): void {
  connection.close(CloseCode.IDLE_TIMEOUT, "idle timeout");
}

function checkSendQueue(connection: BaseConnection): void {
  connection.checkSendQueue();
}

/**
 * What every connection does whatever carries its frames: the idle timeout, the send-queue bound,
 * a guarded `frame` event and exactly one `close` event. Subclasses put frames on their carrier
 * and report when it closed.
 */
export abstract class BaseConnection extends EventEmitter implements Connection {
  readonly serializer: Serializer;
  readonly params: Readonly<Record<string, string>>;
  readonly remoteAddress: string;
  private readonly idleTimer: NodeJS.Timeout;
  private ended = false;
  private queueCheckScheduled = false;

  constructor(
    readonly id: string,
    handshake: Handshake,
    protected readonly host: ConnectionHost,
  ) {
    super();
    this.serializer = handshake.serializer;
    this.params = handshake.params;
    this.remoteAddress = handshake.remoteAddress;
    this.idleTimer = setTimeout(onIdle, host.idleTimeoutMs, this);
  }

  abstract get transport(): TransportKind;
  abstract get bufferedBytes(): number;
  /** Queues one frame on the carrier. */
  protected abstract send(frame: Frame): void;
  /** Starts closing the carrier with this code; `end` must follow, now or once the carrier closed. */
  protected abstract shut(code: number, reason: string): void;

  write(frame: Frame): void {
    if (this.ended) return;
    this.send(frame);
    // Judged once this tick's writes had their chance to reach the kernel: a burst written in one
    // tick is corked, so the queue briefly holds it even for a client that reads fast.
    if (!this.queueCheckScheduled && this.bufferedBytes > this.host.sendQueueBytes) {
      this.queueCheckScheduled = true;
      setImmediate(checkSendQueue, this);
    }
  }

  checkSendQueue(): void {
    this.queueCheckScheduled = false;
    const bufferedBytes = this.bufferedBytes;
    if (this.ended || bufferedBytes <= this.host.sendQueueBytes) return;
    this.host.logger.warn({ socket: this.id, bufferedBytes, limit: this.host.sendQueueBytes }, "slow consumer, closing");
    this.close(CloseCode.SLOW_CONSUMER, "slow consumer");
  }

  close(code: number, reason = ""): void {
    if (!this.ended) this.shut(code, reason);
  }

  receive(frame: Frame): void {
    // A closing carrier may still deliver frames its peer sent before it saw the close.
    if (this.ended) return;
    this.idleTimer.refresh();
    // The listener runs inside ws's or engine.io's I/O callbacks, where a throw would end the process.
    try {
      this.emit("frame", frame);
    } catch (error) {
      this.host.logger.error({ err: error, socket: this.id }, "frame listener failed, closing");
      // A listener that throws leaves the connection in an unknown state.
      this.close(Rfc6455.INTERNAL_ERROR, "internal error");
    }
  }

  /** The connection is over (closed by us, by the peer, or broken): `close` is emitted once, with the first cause. */
  protected end(code: number | undefined, reason: string, cause: string): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.idleTimer);
    const reported = code ?? Rfc6455.ABNORMAL_CLOSURE;
    this.host.logger.debug({ socket: this.id, transport: this.transport, code: reported, reason, cause }, "connection closed");
    this.host.ended(this);
    this.emit("close", reported, reason);
  }
}
