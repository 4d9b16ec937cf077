/// <reference lib="dom" />
import { LongPoll, Presence, Socket } from "phoenix";

/**
 * The stock phoenix.js client, typed for the part these pages use (the package ships no types).
 * Everything else in the web app talks to these interfaces, never to `phoenix` directly.
 */
export interface PhxPush {
  receive(status: "ok" | "error" | "timeout", callback: (response: unknown) => void): PhxPush;
}

export interface PhxChannel {
  readonly topic: string;
  join(timeout?: number): PhxPush;
  leave(timeout?: number): PhxPush;
  push(event: string, payload: object, timeout?: number): PhxPush;
  on(event: string, callback: (payload: unknown) => void): number;
  onError(callback: (reason: unknown) => void): void;
  onClose(callback: () => void): void;
}

export interface PhxSocket {
  connect(): void;
  disconnect(callback?: () => void, code?: number, reason?: string): void;
  channel(topic: string, params?: object): PhxChannel;
  isConnected(): boolean;
  onOpen(callback: () => void): string;
  onClose(callback: (event: unknown) => void): string;
  onError(callback: (error: unknown) => void): string;
  off(refs: string[]): void;
  readonly transport: unknown;
}

export type TransportChoice = "websocket" | "longpoll";

export const TRANSPORT_LABELS: Readonly<Record<TransportChoice, string>> = {
  websocket: "WebSocket",
  longpoll: "LongPoll",
};

// How long a WebSocket may take to open before phoenix.js gives up on it and long-polls; the
// stock default (2.5 s) also fits a loaded dev cluster of three nodes.
const LONG_POLL_FALLBACK_MS = 2_500;

// phoenix.js remembers a fallback for the whole tab session; a user who picks WebSocket again
// means it, so that memory is dropped before every connect.
const FALLBACK_MEMORY_KEY = "phx:fallback:LongPoll";

export function openSocket(choice: TransportChoice, params: Record<string, string> = {}): PhxSocket {
  sessionStorage.removeItem(FALLBACK_MEMORY_KEY);
  const options =
    choice === "longpoll"
      ? { transport: LongPoll, params }
      : { transport: window.WebSocket, params, longPollFallbackMs: LONG_POLL_FALLBACK_MS };
  const socket = new Socket("/socket", options) as PhxSocket;
  socket.connect();
  return socket;
}

/** True once the socket talks LongPoll, whether chosen or fallen back to. */
export function isLongPolling(socket: PhxSocket): boolean {
  return socket.transport === LongPoll;
}

export interface PresenceEntry {
  readonly key: string;
  /** One meta per connection (tab) of the same key. */
  readonly metas: ReadonlyArray<Record<string, unknown>>;
}

/** Syncs the stock Presence from `presence_state`/`presence_diff` and reports the full list on every change. */
export function watchPresence(channel: PhxChannel, onSync: (entries: PresenceEntry[]) => void): void {
  const presence = new Presence(channel) as {
    onSync(callback: () => void): void;
    list<T>(by: (key: string, presence: { metas: Array<Record<string, unknown>> }) => T): T[];
  };
  presence.onSync(() => onSync(presence.list((key, { metas }) => ({ key, metas }))));
}

/** A push as a promise: resolves with the ok response, rejects with the error or timeout. */
export function pushAsync(push: PhxPush): Promise<unknown> {
  return new Promise((resolve, reject) => {
    push
      .receive("ok", resolve)
      .receive("error", (response) => reject(new PushError("error", response)))
      .receive("timeout", () => reject(new PushError("timeout", undefined)));
  });
}

export class PushError extends Error {
  constructor(
    readonly status: "error" | "timeout",
    readonly response: unknown,
  ) {
    super(status === "timeout" ? "no answer from the server" : describeReason(response));
  }
}

function describeReason(response: unknown): string {
  if (typeof response === "object" && response !== null && "reason" in response) return String(response.reason);
  return "refused";
}
