import type { Logger } from "pino";
import { CloseCode } from "@switchboard/protocol";
import type { Frame, Serializer } from "@switchboard/protocol";
import { IDLE_CHECKS_PER_TIMEOUT } from "./limits.ts";
import { Rfc6455 } from "./rfc6455-codes.ts";
import type { Connection, TransportKind } from "./types.ts";

/** What every connection of one server shares: its send-queue bound, its logger, and who to tell when it ended. */
export interface ConnectionHost {
  sendQueueBytes: number;
  logger: Logger;
  /** Called once per connection, just before its `close` listeners (a hook, not a listener: no wrapper per connection). */
  ended(connection: BaseConnection): void;
}

/** What a connection keeps of its handshake: copies, so the request itself is not held for the connection's life. */
export interface Handshake {
  serializer: Serializer;
  params: Readonly<Record<string, string>>;
  remoteAddress: string;
}

type FrameListener = (this: Connection, frame: Frame) => void;
type CloseListener = (this: Connection, code: number, reason: string) => void;

/**
 * An event's listeners: none, one, or several in the order added. Two such fields are what a
 * connection keeps for its listeners instead of an EventEmitter (its fields and listener table
 * cost ≈ 210 B of heap per connection more; an idle node holds one per client).
 */
type Listeners<L> = L | readonly L[] | undefined;

/** A new list, so a listener added while the event is being emitted is not called for that emit (as with EventEmitter). */
function withListener<L extends (...args: never[]) => void>(listeners: Listeners<L>, listener: L): Listeners<L> {
  if (listeners === undefined) return listener;
  return typeof listeners === "function" ? [listeners, listener] : [...listeners, listener];
}

function checkSendQueue(connection: BaseConnection): void {
  connection.checkSendQueue();
}

/**
 * What every connection does whatever carries its frames: the idle timeout, the send-queue bound,
 * guarded `frame` listeners and exactly one call of the `close` listeners. Subclasses put frames
 * on their carrier and report when it closed.
 */
export abstract class BaseConnection implements Connection {
  readonly serializer: Serializer;
  readonly params: Readonly<Record<string, string>>;
  readonly remoteAddress: string;
  /** Idle checks since the last frame from the client (see `checkIdle`). */
  private idleChecks = 0;
  private ended = false;
  private queueCheckScheduled = false;
  private frameListeners: Listeners<FrameListener>;
  private closeListeners: Listeners<CloseListener>;

  constructor(
    readonly id: string,
    handshake: Handshake,
    protected readonly host: ConnectionHost,
  ) {
    this.serializer = handshake.serializer;
    this.params = handshake.params;
    this.remoteAddress = handshake.remoteAddress;
  }

  on(event: "frame", listener: FrameListener): this;
  on(event: "close", listener: CloseListener): this;
  on(event: "frame" | "close", listener: FrameListener | CloseListener): this {
    if (event === "frame") this.frameListeners = withListener(this.frameListeners, listener as FrameListener);
    else this.closeListeners = withListener(this.closeListeners, listener as CloseListener);
    return this;
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

  /**
   * One of the idle checks the server makes IDLE_CHECKS_PER_TIMEOUT times per idle timeout over all
   * of its connections (idle-sweep.ts), instead of a timer per connection: closes a connection
   * whose client sent nothing for a whole timeout. Once only: a carrier still closing stays swept
   * until it ended.
   */
  checkIdle(): void {
    if (++this.idleChecks === IDLE_CHECKS_PER_TIMEOUT + 1) this.close(CloseCode.IDLE_TIMEOUT, "idle timeout");
  }

  receive(frame: Frame): void {
    // A closing carrier may still deliver frames its peer sent before it saw the close.
    if (this.ended) return;
    this.idleChecks = 0;
    // The listener runs inside ws's or engine.io's I/O callbacks, where a throw would end the process.
    try {
      const listeners = this.frameListeners;
      if (typeof listeners === "function") listeners.call(this, frame);
      else if (listeners !== undefined) for (const listener of listeners) listener.call(this, frame);
    } catch (error) {
      this.host.logger.error({ err: error, socket: this.id }, "frame listener failed, closing");
      // A listener that throws leaves the connection in an unknown state.
      this.close(Rfc6455.INTERNAL_ERROR, "internal error");
    }
  }

  /** The connection is over (closed by us, by the peer, or broken): the `close` listeners are called once, with the first cause. */
  protected end(code: number | undefined, reason: string, cause: string): void {
    if (this.ended) return;
    this.ended = true;
    const reported = code ?? Rfc6455.ABNORMAL_CLOSURE;
    this.host.logger.debug({ socket: this.id, transport: this.transport, code: reported, reason, cause }, "connection closed");
    this.host.ended(this);
    const listeners = this.closeListeners;
    if (typeof listeners === "function") listeners.call(this, reported, reason);
    else if (listeners !== undefined) for (const listener of listeners) listener.call(this, reported, reason);
  }
}
