import type { IncomingHttpHeaders } from "node:http";

/** phoenix.js ≥1.8 carries `authToken` as a WebSocket subprotocol next to `phoenix`: `base64url.bearer.phx.<base64 of the token>`. */
const AUTH_TOKEN_SUBPROTOCOL_PREFIX = "base64url.bearer.phx.";
/** ...and over LongPoll as this header, in clear. */
const AUTH_TOKEN_HEADER = "x-phoenix-authtoken";
/** Query keys that belong to the transport, not to the application's connect params. */
const TRANSPORT_QUERY_KEYS = new Set(["vsn", "token", "transport", "EIO", "sid"]);

/** Connect params as Phoenix hands them to connect/3: the query string minus transport keys, plus `authToken` when the client sent one. */
export function connectParams(query: URLSearchParams, headers: IncomingHttpHeaders): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [key, value] of query) {
    if (!TRANSPORT_QUERY_KEYS.has(key)) params[key] = value;
  }
  const authToken = authTokenFromSubprotocols(headers["sec-websocket-protocol"]) ?? singleHeader(headers[AUTH_TOKEN_HEADER]);
  if (authToken !== undefined) params.authToken = authToken;
  return params;
}

function authTokenFromSubprotocols(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const offered of header.split(",")) {
    const protocol = offered.trim();
    // Node's base64 decoder takes both alphabets and missing padding, which covers phoenix.js's unpadded btoa output.
    if (protocol.startsWith(AUTH_TOKEN_SUBPROTOCOL_PREFIX)) return Buffer.from(protocol.slice(AUTH_TOKEN_SUBPROTOCOL_PREFIX.length), "base64").toString("utf8");
  }
  return undefined;
}

function singleHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The subprotocol we answer with: phoenix.js offers `phoenix` (plus the auth token one), and a browser fails the handshake unless one offered protocol is echoed. */
export const PHOENIX_SUBPROTOCOL = "phoenix";

export function chooseSubprotocol(offered: Set<string>): string | false {
  return offered.has(PHOENIX_SUBPROTOCOL) ? PHOENIX_SUBPROTOCOL : false;
}
