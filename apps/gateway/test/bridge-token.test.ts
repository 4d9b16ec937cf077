import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";
import type { TokenVerifier } from "@switchboard/auth";
import type { Channel, ChannelPresence } from "@switchboard/channels";
import type { Payload } from "@switchboard/protocol";
import { createBridgeChannel } from "../src/channels/bridge.ts";

const JOIN_TOKEN = "header.claims.signature-of-the-join-token";
/** Accepts the join token only; the bridge channel asks nothing else of the verifier. */
const verifier: TokenVerifier = {
  verify: () => ({ ok: false, reason: "invalid_token" as never }),
  verifyForTopic: (token) => (token === JOIN_TOKEN ? { ok: true, claims: { id: "user-1", channel: "room:1", exp: 0 } } : { ok: false, reason: "invalid_token" as never }),
};

/** Joins room:1 with the join token and returns what each push published on `from:`. */
async function joinedChannel() {
  const published: Payload[] = [];
  const handler = createBridgeChannel({
    verifier,
    publisher: { publish: async (_channel: string, body: string | Buffer) => void published.push(JSON.parse(body.toString())) } as never,
    nodeId: "n1",
    maxForwardPayloadBytes: 65_536,
    envelopePatterns: [],
    logger: pino({ level: "silent" }),
  });
  const joined = await handler.join("room:1", { token: JOIN_TOKEN }, { id: "s1", transport: "websocket", params: {}, assigns: {} });
  assert.ok("ok" in joined && joined.assigns);
  const channel = { topic: "room:1", joinRef: "1", socket: { id: "s1" }, assigns: joined.assigns, presence: {} as ChannelPresence } as Channel;
  return { published, assigns: joined.assigns, push: (payload: Payload) => handler.handleIn!("note", payload, channel, { ref: "2" }) };
}

test("the join token echoed in a push is not forwarded, and the channel does not keep the token itself", async () => {
  const { published, assigns, push } = await joinedChannel();
  await push({ n: 1, token: JOIN_TOKEN });
  assert.deepEqual(published, [{ n: 1 }]);
  assert.ok(!Object.values(assigns).includes(JOIN_TOKEN), "the token is not kept per channel");
});

test("a push whose token field is not the join token is forwarded as it is", async () => {
  const { published, push } = await joinedChannel();
  await push({ n: 2, token: "some other token" });
  await push({ n: 3, token: 42 });
  assert.deepEqual(published, [
    { n: 2, token: "some other token" },
    { n: 3, token: 42 },
  ]);
});
