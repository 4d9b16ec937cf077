import type { IncomingMessage } from "node:http";
import { Transport, transports } from "engine.io";
import type { Logger } from "pino";
import type { Frame, Serializer } from "@switchboard/protocol";
import type { LongPollOptions, TransportKind } from "./types.ts";

/** What our request step learned about a connecting client, handed to the transport engine.io constructs. */
export interface TransportContext {
  serializer: Serializer;
  /** V2: the client may send binary frames (LongPoll carries them as base64 ndjson lines). */
  binaryFrames: boolean;
  params: Readonly<Record<string, string>>;
  logger: Logger;
  longPoll: LongPollOptions & { issueToken(sessionId: string): string };
}

// engine.io constructs transports from the request alone, and its registry is process-wide (several
// servers may share a process in tests), so per-server settings travel with the request.
const contexts = new WeakMap<IncomingMessage, TransportContext>();

export function attachContext(req: IncomingMessage, context: TransportContext): void {
  contexts.set(req, context);
}

export function contextOf(req: IncomingMessage): TransportContext | undefined {
  return contexts.get(req);
}

type Packets = Parameters<Transport["send"]>[0];
type Packet = Packets[number];

const PONG: Packet = { type: "pong" };

/** What a Connection needs from whatever carries its frames: one of our transports, or an engine.io client's socket. */
export interface FrameCarrier {
  readonly kind: TransportKind;
  readonly context: TransportContext;
  readonly closeCode: number | undefined;
  readonly closeReason: string;
  readonly bufferedBytes: number;
  recordClose(code: number, reason: string): void;
  sendFrame(frame: Frame): void;
}

/**
 * Base of our engine.io transports. Phoenix clients know nothing of engine.io: its `open`, `noop`
 * and `ping` packets never reach the wire, and every engine.io ping is answered here on the
 * client's behalf (Phoenix clients heartbeat inside their channel protocol). Transports stay
 * writable: they queue and batch themselves and report `bufferedBytes`, so the send-queue bound
 * sees every queued byte in one place.
 */
export abstract class PhoenixTransport extends Transport implements FrameCarrier {
  readonly context: TransportContext;
  abstract readonly kind: TransportKind;
  /** The first close cause that happened (our close, the peer's, an error); read when the socket closes. */
  closeCode: number | undefined;
  closeReason = "";

  constructor(req: IncomingMessage & { _query: Record<string, string> }) {
    super(req);
    const context = contextOf(req);
    // engine.io turns a throw here into a 400: only reachable when a request skipped our request step.
    if (!context) throw new Error("phoenix transport requested without a negotiated request");
    this.context = context;
    this.writable = true;
  }

  abstract get bufferedBytes(): number;
  protected abstract writeFrame(frame: Frame): void;

  /** Queues one frame to the client, skipping engine.io's packet path (one encode shared by every subscriber). */
  sendFrame(frame: Frame): void {
    if (this.readyState === "open") this.writeFrame(frame);
  }

  recordClose(code: number, reason: string): void {
    if (this.closeCode !== undefined) return;
    this.closeCode = code;
    this.closeReason = reason;
  }

  send(packets: Packets): void {
    for (const packet of packets) {
      if (packet.type === "message" && packet.data !== undefined) this.sendFrame(packet.data as Frame);
      // Later, not now: engine.io arms its pong timeout right after handing us the ping.
      else if (packet.type === "ping") queueMicrotask(this.answerPing);
    }
  }

  protected receiveFrame(frame: Frame): void {
    this.onPacket({ type: "message", data: frame });
  }

  private readonly answerPing = () => {
    if (this.readyState === "open") this.onPacket(PONG);
  };
}

export const LONGPOLL_TRANSPORT = "phoenix-longpoll";

/** engine.io's transport registry is typed with its built-in names only. */
export function registerTransport(name: string, transport: abstract new (req: never) => PhoenixTransport): void {
  (transports as unknown as Record<string, unknown>)[name] = transport;
}
