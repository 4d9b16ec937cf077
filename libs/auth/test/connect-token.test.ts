import assert from "node:assert/strict";
import { test } from "node:test";
import { AUTH_TOKEN_SUBPROTOCOL_PREFIX, readConnectToken } from "@switchboard/auth";

const TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJpZCI6InUifQ.sig-_+/";

/** What phoenix.js 1.8 puts in Sec-WebSocket-Protocol for `authToken`: btoa() without padding. */
function phoenixSubprotocols(token: string): string {
  return `phoenix, ${AUTH_TOKEN_SUBPROTOCOL_PREFIX}${btoa(token).replace(/=/g, "")}`;
}

test("phoenix.js authToken as a WebSocket subprotocol", () => {
  assert.equal(readConnectToken({ query: new URLSearchParams(), subprotocols: phoenixSubprotocols(TOKEN) }), TOKEN);
});

test("LongPoll authToken header", () => {
  assert.equal(readConnectToken({ query: new URLSearchParams(), authTokenHeader: TOKEN }), TOKEN);
});

test("query params: token, then tangram's userToken", () => {
  assert.equal(readConnectToken({ query: new URLSearchParams({ token: "a", userToken: "b" }) }), "a");
  assert.equal(readConnectToken({ query: new URLSearchParams({ userToken: "b", vsn: "2.0.0" }) }), "b");
});

test("the subprotocol wins over the query; nothing gives undefined", () => {
  assert.equal(readConnectToken({ query: new URLSearchParams({ token: "q" }), subprotocols: phoenixSubprotocols(TOKEN) }), TOKEN);
  assert.equal(readConnectToken({ query: new URLSearchParams({ vsn: "2.0.0" }), subprotocols: "phoenix" }), undefined);
  assert.equal(readConnectToken({ query: new URLSearchParams({ token: "" }) }), undefined);
});
