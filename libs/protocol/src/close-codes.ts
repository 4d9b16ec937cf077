/**
 * WebSocket close codes the gateway sends, by name. phoenix.js reconnects after every close
 * except 1000, so every code here but NORMAL makes a stock client come back (with backoff):
 * that is what we want for all server-side faults and limits.
 *
 * 1000–1015 are RFC 6455 codes used as Phoenix/Bandit use them; 4000–4999 are ours.
 */
export const CloseCode = {
  /** Clean close the client asked for. */
  NORMAL: 1000,
  /** The server is going away without a restart (node shutdown outside a drain). */
  GOING_AWAY: 1001,
  /** No frame for the idle timeout: Bandit answers Phoenix's websocket timeout with 1002. */
  IDLE_TIMEOUT: 1002,
  /** A frame larger than the configured maximum. */
  MESSAGE_TOO_BIG: 1009,
  /** A frame that cannot be decoded: Phoenix closes with 1011 (its socket process crashes). */
  MALFORMED_FRAME: 1011,
  /** Graceful drain: reconnect, preferably elsewhere. */
  SERVICE_RESTART: 1012,
  /** Send queue over its byte bound: the client could not keep up with its subscriptions. */
  SLOW_CONSUMER: 4008,
  /** Push rate over the per-socket limit for long enough to stop serving the socket. */
  RATE_LIMITED: 4029,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
