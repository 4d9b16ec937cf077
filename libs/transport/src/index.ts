import { createTransportServer as createServer } from "./server.ts";
import type { TransportOptions, TransportServer } from "./types.ts";

export function createTransportServer(options: TransportOptions): TransportServer {
  return createServer(options);
}

export { createRedisLongPollRelay } from "./redis-relay.ts";
export type { RedisLongPollRelay, RedisRelayOptions } from "./redis-relay.ts";
export type { LongPollRelay, RelayedExchange, RelayedRequest, RelayHandler } from "./longpoll-relay.ts";
export type { LongPollAnswer } from "./longpoll-answer.ts";
export type { ConnectInfo, Connection, LongPollOptions, TransportKind, TransportOptions, TransportServer } from "./types.ts";
export {
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_LONGPOLL_MAX_BATCH_LINES,
  DEFAULT_LONGPOLL_SESSION_TIMEOUT_MS,
  DEFAULT_LONGPOLL_WINDOW_MS,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_SEND_QUEUE_BYTES,
} from "./limits.ts";
