/**
 * RFC 6455 close codes this lib reports or sends that `CloseCode` (@switchboard/protocol) does not
 * name, because the gateway never chooses them: they come from the peer, from ws, or from a fault.
 */
export const Rfc6455 = {
  /** A WebSocket protocol violation by the peer (ws closes with it). */
  PROTOCOL_ERROR: 1002,
  /** Reported, never sent: the connection broke without a close frame. */
  ABNORMAL_CLOSURE: 1006,
  /** Text that is not UTF-8 (ws closes with it). */
  INVALID_PAYLOAD: 1007,
  /** The server failed on its side (a throwing handler). */
  INTERNAL_ERROR: 1011,
} as const;
