import WebSocket from "ws";
import { trackLastSeen, type LastSeenTracker, type MessageHook } from "@switchboard/history/client";

/** The slice of the stock phoenix.js API these suites use (1.7 and 1.8 alike). */
export interface PhoenixSocket {
  connect(): void;
  disconnect(callback?: () => void, code?: number): void;
  channel(topic: string, params: () => Record<string, unknown>): PhoenixChannel;
  isConnected(): boolean;
}
export interface PhoenixChannel extends MessageHook {
  join(timeout?: number): PhoenixPush;
  push(event: string, payload: unknown, timeout?: number): PhoenixPush;
  on(event: string, callback: (payload: unknown, ref?: unknown) => void): number;
  state: string;
}
interface PhoenixPush {
  receive(status: string, callback: (response: unknown) => void): PhoenixPush;
}
export interface PhoenixModule {
  Socket: new (endPoint: string, options: Record<string, unknown>) => PhoenixSocket;
}

/**
 * A stock phoenix.js client on one recovery topic through the history client helper: it records
 * every `event` payload with the ref it came with and every join reply (first join and rejoins).
 */
export class RecoveringClient {
  readonly socket: PhoenixSocket;
  readonly channel: PhoenixChannel;
  readonly tracker: LastSeenTracker;
  readonly received: Array<{ payload: { n: number }; ref: unknown }> = [];
  readonly joinReplies: Array<{ status: string; response: Record<string, unknown> }> = [];

  constructor(phoenix: PhoenixModule, socketUrl: string | (() => string), topic: string, event: string) {
    this.socket = new phoenix.Socket(typeof socketUrl === "string" ? socketUrl : "ws://placeholder/socket", {
      transport: typeof socketUrl === "string" ? WebSocket : reconnectingTo(socketUrl),
      reconnectAfterMs: () => 100,
      rejoinAfterMs: () => 100,
      heartbeatIntervalMs: 1_000,
    });
    this.tracker = trackLastSeen({ user: "recovering" });
    this.channel = this.tracker.attach(this.socket.channel(topic, this.tracker.params));
    this.channel.on(event, (payload, ref) => this.received.push({ payload: payload as { n: number }, ref }));
    const join = this.channel.join(3_000);
    for (const status of ["ok", "error"]) join.receive(status, (response) => this.joinReplies.push({ status, response: response as Record<string, unknown> }));
    this.socket.connect();
  }

  numbers(): number[] {
    return this.received.map((message) => message.payload.n);
  }
}

/**
 * A WebSocket class for phoenix.js whose every construction asks `currentUrl` for the node to
 * use, keeping the path and query phoenix.js built: how a client behind a load balancer lands on
 * another node after its own went away.
 */
function reconnectingTo(currentUrl: () => string): typeof WebSocket {
  return class extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      const built = new URL(url);
      const target = new URL(currentUrl());
      built.host = target.host;
      super(built.toString(), protocols);
    }
  } as typeof WebSocket;
}
