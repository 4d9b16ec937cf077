import { createTransportServer as createServer } from "./server.ts";
import type { TransportOptions, TransportServer } from "./types.ts";

export function createTransportServer(options: TransportOptions): TransportServer {
  return createServer(options);
}

export type { ConnectInfo, Connection, LongPollOptions, TransportKind, TransportOptions, TransportServer } from "./types.ts";
export {
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_LONGPOLL_MAX_BATCH_LINES,
  DEFAULT_LONGPOLL_SESSION_TIMEOUT_MS,
  DEFAULT_LONGPOLL_WINDOW_MS,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_SEND_QUEUE_BYTES,
} from "./limits.ts";
