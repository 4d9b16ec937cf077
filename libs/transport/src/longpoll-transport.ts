import type { IncomingMessage, ServerResponse } from "node:http";
import { CloseCode } from "@switchboard/protocol";
import type { Frame } from "@switchboard/protocol";
import type { LongPollAnswer } from "./longpoll-answer.ts";
import { writeAnswer } from "./longpoll-answer.ts";
import { LONGPOLL_TRANSPORT, PhoenixTransport } from "./phoenix-transport.ts";

/** Answers one poll, wherever it came from (a local HTTP response, or a relayed request). */
export type PollResponder = (answer: LongPollAnswer) => void;

interface WaitingPoll {
  respond: PollResponder;
  windowTimer: NodeJS.Timeout;
}

type HandshakeRequest = IncomingMessage & { _query: Record<string, string>; res?: ServerResponse };

function flushQueue(transport: PhoenixLongPollTransport): void {
  transport.flush();
}

/**
 * A Phoenix LongPoll session as an engine.io transport. The first GET (engine.io's handshake) is
 * answered 410 with the session token; then polls and POSTs reach the session through `poll` and
 * `post`, from this node's HTTP handler or relayed from another node. Frames wait in the session's
 * queue until a poll takes them; the session closes when no poll comes for sessionTimeoutMs.
 */
export class PhoenixLongPollTransport extends PhoenixTransport {
  readonly kind = "longpoll";
  private tokenValue: string | undefined;
  private queue: string[] = [];
  private queuedBytes = 0;
  private waiting: WaitingPoll | undefined;
  private flushScheduled = false;
  private readonly sessionTimer: NodeJS.Timeout;

  constructor(req: HandshakeRequest) {
    super(req);
    this.sessionTimer = setTimeout(() => this.onSessionTimer(), this.context.longPoll.sessionTimeoutMs);
  }

  get name(): string {
    return LONGPOLL_TRANSPORT;
  }

  get bufferedBytes(): number {
    return this.queuedBytes;
  }

  get token(): string {
    // engine.io assigns the session id after construction, before the handshake request arrives.
    this.tokenValue ??= this.context.longPoll.issueToken(this.sid);
    return this.tokenValue;
  }

  /** engine.io hands us the handshake GET only: later requests arrive through poll/post. */
  override onRequest(req: HandshakeRequest): void {
    if (req.res) writeAnswer(req.res, { messages: [], status: 410, token: this.token });
  }

  /** Takes queued frames now, or waits up to the poll window. Returns a cancel for a client that goes away. */
  poll(respond: PollResponder): () => void {
    if (this.readyState !== "open") {
      respond({ status: 410 });
      return noop;
    }
    // phoenix.js polls one at a time; a second poll means the first one's client is gone.
    this.answerWaiting({ status: 204, token: this.token });
    this.sessionTimer.refresh();
    if (this.queue.length > 0) {
      respond(this.takeMessages());
      return noop;
    }
    const waiting: WaitingPoll = {
      respond,
      windowTimer: setTimeout(() => this.answerWaiting({ status: 204, token: this.token }), this.context.longPoll.windowMs),
    };
    this.waiting = waiting;
    return () => {
      if (this.waiting !== waiting) return;
      clearTimeout(waiting.windowTimer);
      this.waiting = undefined;
      this.sessionTimer.refresh();
    };
  }

  post(frames: readonly Frame[]): LongPollAnswer {
    if (this.readyState !== "open") return { status: 410 };
    for (const frame of frames) this.receiveFrame(frame);
    return { status: 200 };
  }

  /** Sends what queued up in this tick to the waiting poll as one answer. */
  flush(): void {
    this.flushScheduled = false;
    if (this.waiting && this.queue.length > 0) this.answerWaiting(this.takeMessages());
  }

  protected writeFrame(frame: Frame): void {
    // Binary cannot travel in a JSON answer; the serializer of a LongPoll connection is text-only,
    // so this is only a caller's mistake, carried the same way binary travels upward: base64.
    const text = typeof frame === "string" ? frame : frame.toString("base64");
    this.queue.push(text);
    this.queuedBytes += Buffer.byteLength(text);
    if (this.waiting && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(flushQueue, this);
    }
  }

  doClose(done?: () => void): void {
    this.answerWaiting(this.queue.length > 0 ? this.takeMessages() : { status: 410, token: this.token });
    this.shutdown();
    done?.();
  }

  private onSessionTimer(): void {
    if (this.readyState !== "open") return;
    if (this.waiting) {
      this.sessionTimer.refresh();
      return;
    }
    this.recordClose(CloseCode.IDLE_TIMEOUT, "longpoll session timeout");
    this.shutdown();
  }

  private shutdown(): void {
    clearTimeout(this.sessionTimer);
    this.queue = [];
    this.queuedBytes = 0;
    this.onClose();
  }

  private takeMessages(): LongPollAnswer {
    const messages = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    return { messages, status: 200, token: this.token };
  }

  private answerWaiting(answer: LongPollAnswer): void {
    const waiting = this.waiting;
    if (!waiting) return;
    this.waiting = undefined;
    clearTimeout(waiting.windowTimer);
    this.sessionTimer.refresh();
    waiting.respond(answer);
  }
}

function noop(): void {}
