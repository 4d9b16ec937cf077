/** phoenix.js ≥ 1.8 sends `authToken` as a second WebSocket subprotocol with this prefix. */
export const AUTH_TOKEN_SUBPROTOCOL_PREFIX = "base64url.bearer.phx.";
/** LongPoll clients send the same `authToken` in this header. */
export const AUTH_TOKEN_HEADER = "x-phoenix-authtoken";
/** Query parameters carrying a connect token: ours, then tangram's. */
const QUERY_TOKEN_PARAMS = ["token", "userToken"] as const;

export interface ConnectTokenSources {
  /** Connect params (phoenix.js `params` option) from the query string. */
  readonly query: URLSearchParams;
  /** The `Sec-WebSocket-Protocol` request header. */
  readonly subprotocols?: string;
  /** The `X-Phoenix-AuthToken` request header (LongPoll). */
  readonly authTokenHeader?: string;
}

/**
 * The token a client presented when connecting, wherever the client put it: phoenix.js `authToken`
 * (subprotocol or LongPoll header, which do not end up in access logs), else `?token=` or
 * tangram's `?userToken=`. A connect token identifies the user; each join still needs its own
 * `{"token": ...}` for the topic.
 */
export function readConnectToken(sources: ConnectTokenSources): string | undefined {
  const fromSubprotocol = sources.subprotocols
    ?.split(",")
    .map((protocol) => protocol.trim())
    .find((protocol) => protocol.startsWith(AUTH_TOKEN_SUBPROTOCOL_PREFIX));
  if (fromSubprotocol !== undefined) {
    // phoenix.js encodes with btoa() and strips the padding; Node's base64 decoder takes both alphabets.
    const decoded = Buffer.from(fromSubprotocol.slice(AUTH_TOKEN_SUBPROTOCOL_PREFIX.length), "base64").toString("utf8");
    if (decoded.length > 0) return decoded;
  }
  if (sources.authTokenHeader) return sources.authTokenHeader;
  for (const name of QUERY_TOKEN_PARAMS) {
    const value = sources.query.get(name);
    if (value) return value;
  }
  return undefined;
}
