/// <reference lib="dom" />
import { isLongPolling, TRANSPORT_LABELS } from "./phoenix.ts";
import type { PhxSocket, TransportChoice } from "./phoenix.ts";

export type ConnectionPhase = "connecting" | "connected" | "reconnecting";

export interface ConnectionState {
  readonly phase: ConnectionPhase;
  readonly transport: TransportChoice;
  /** WebSocket was asked for, phoenix.js fell back to LongPoll. */
  readonly fallback: boolean;
}

/**
 * Follows a socket's life: connecting until the first open, connected, reconnecting after any
 * error or close the page did not ask for. Returns a function that stops watching.
 */
export function watchConnection(socket: PhxSocket, choice: TransportChoice, onChange: (state: ConnectionState) => void): () => void {
  let opened = false;
  const report = (phase: ConnectionPhase) => {
    const transport: TransportChoice = isLongPolling(socket) ? "longpoll" : "websocket";
    onChange({ phase, transport, fallback: choice === "websocket" && transport === "longpoll" });
  };
  const refs = [
    socket.onOpen(() => {
      opened = true;
      report("connected");
    }),
    socket.onError(() => report(opened ? "reconnecting" : "connecting")),
    socket.onClose(() => report(opened ? "reconnecting" : "connecting")),
  ];
  report("connecting");
  return () => socket.off(refs);
}

const PHASE_LABELS: Readonly<Record<ConnectionPhase, string>> = {
  connecting: "Connecting",
  connected: "Connected",
  reconnecting: "Reconnecting",
};

/** Shows the state in a `role="status"` element; data attributes carry it for styles and tests. */
export function renderConnection(element: HTMLElement, state: ConnectionState): void {
  const transport = `${TRANSPORT_LABELS[state.transport]}${state.fallback ? " fallback" : ""}`;
  element.dataset.phase = state.phase;
  element.dataset.transport = state.transport;
  element.dataset.fallback = String(state.fallback);
  element.textContent = `${PHASE_LABELS[state.phase]} · ${transport}`;
  element.title = state.fallback ? "WebSocket did not get through; phoenix.js fell back to long-polling" : "";
}
