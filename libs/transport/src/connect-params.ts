import type { IncomingHttpHeaders } from "node:http";
import type { TransportKind } from "./types.ts";

/** phoenix.js ≥1.8 carries `authToken` as a WebSocket subprotocol next to `phoenix`: `base64url.bearer.phx.<base64 of the token>`. */
export const AUTH_TOKEN_SUBPROTOCOL_PREFIX = "base64url.bearer.phx.";
/** ...and over LongPoll as this header, in clear. */
const AUTH_TOKEN_HEADER = "x-phoenix-authtoken";
/** The serializer version: the transport's business, not the application's. */
const VSN_KEY = "vsn";
/**
 * phoenix.js LongPoll appends its session token as `token` after the socket params (`null` before
 * it has one), so a `token` connect param arrives first and the session token last.
 */
const LONGPOLL_TOKEN_KEY = "token";

/** engine.io's own query keys (protocol revision, transport, session id, cache buster, base64 and JSONP flags). */
const ENGINE_IO_QUERY_KEYS = new Set(["EIO", "transport", "sid", "t", "b64", "j"]);

/** The LongPoll session token of a request: the last `token` value (see LONGPOLL_TOKEN_KEY). */
export function longPollToken(query: URLSearchParams): string | undefined {
  return query.getAll(LONGPOLL_TOKEN_KEY).at(-1);
}

/** The params of every connection that sent none (most send only `vsn`): one shared object instead of one per connection, which keeps it. */
const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});

/** Connect params as Phoenix hands them to connect/3: the query string minus vsn (and the LongPoll session token, or engine.io's keys), plus `authToken` when the client sent one. */
export function connectParams(query: URLSearchParams, headers: IncomingHttpHeaders, kind: TransportKind): Readonly<Record<string, string>> {
  const params: Record<string, string> = {};
  for (const [key, value] of query) {
    if (key !== VSN_KEY && !(kind === "engineio" && ENGINE_IO_QUERY_KEYS.has(key))) params[key] = value;
  }
  if (kind === "longpoll") {
    const tokens = query.getAll(LONGPOLL_TOKEN_KEY);
    if (tokens.length > 1) params[LONGPOLL_TOKEN_KEY] = tokens[0]!;
    else delete params[LONGPOLL_TOKEN_KEY];
  }
  const authToken = authTokenFromSubprotocols(headers["sec-websocket-protocol"]) ?? singleHeader(headers[AUTH_TOKEN_HEADER]);
  if (authToken !== undefined) params.authToken = authToken;
  return Object.keys(params).length === 0 ? NO_PARAMS : params;
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
