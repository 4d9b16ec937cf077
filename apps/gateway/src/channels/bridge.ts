import type { Logger } from "pino";
import type { Redis } from "ioredis";
import type { TokenVerifier } from "@switchboard/auth";
import { error, noreply, ok, reply, topicMatches } from "@switchboard/channels";
import type { Channel, ChannelHandler } from "@switchboard/channels";
import type { Payload } from "@switchboard/protocol";
import { isObject, joinToken } from "./payload-shape.ts";

/** Reasons in the error replies of this route (the join refusals are the auth lib's). */
export const BridgeReplyError = {
  /** The push is larger than MAX_FORWARD_PAYLOAD_BYTES; nothing was published. */
  PAYLOAD_TOO_LARGE: "payload too large",
  /** Redis refused or did not take the publish; the backend did not get the push. */
  BACKEND_UNREACHABLE: "backend unreachable",
  /**
   * The event name holds a colon. Backends split `from:<topic>:<event>` at the last colon, so event
   * `secret:cmd` pushed on `rooms` would reach them as event `cmd` on `rooms:secret`, a topic the
   * client never joined. Nothing was published.
   */
  INVALID_EVENT: "invalid event",
} as const;

/** The clients → backend channel prefix of tangram's contract (never key-prefixed). */
const FROM_PREFIX = "from:";
/** Separates topic and event in `from:<topic>:<event>`; an event may not contain it. */
const EVENT_SEPARATOR = ":";

export interface BridgeChannelOptions {
  verifier: TokenVerifier;
  publisher: Pick<Redis, "publish">;
  nodeId: string;
  maxForwardPayloadBytes: number;
  /** Topics whose pushes are published as an envelope a backend can answer (see envelope below). */
  envelopePatterns: readonly string[];
  logger: Logger;
}

/**
 * tangram's bridge topics. Join needs `{"token": ..}` whose `channel` claim covers the topic;
 * the member is tracked in presence under the token's `id`. Every client push is published as
 * `PUBLISH from:<topic>:<event> <payload>`: the bare JSON payload as tangram does (binary pushes as
 * their raw bytes), or, on envelope topics,
 * `{"payload","topic","event","ref","join_ref","user","socket","node"}` (binary payloads as
 * `{"binary": "<base64>"}`), which the backend answers with `PUBLISH reply:<topic>
 * {"socket","ref","join_ref","status","response"}` (the bridge app delivers it). The gateway never
 * replies on the backend's behalf: a push nobody answers times out in the client, as with tangram.
 * Joins, leaves and heartbeats are never published, nor is the join token.
 */
export function createBridgeChannel(options: BridgeChannelOptions): ChannelHandler {
  const { verifier, publisher, nodeId, maxForwardPayloadBytes, envelopePatterns, logger } = options;
  const enveloped = (topic: string) => envelopePatterns.some((pattern) => topicMatches(pattern, topic));

  return {
    join(topic, payload) {
      const token = joinToken(payload);
      const verified = verifier.verifyForTopic(token, topic);
      if (!verified.ok) return error({ reason: verified.reason });
      return ok({}, { user: verified.claims.id, tokenSignature: signatureOf(token as string) });
    },

    afterJoin(channel) {
      channel.presence.track(String(channel.assigns.user), { online_at: String(Math.floor(Date.now() / 1000)) });
      channel.push("presence_state", channel.presence.list());
    },

    async handleIn(event, payload, channel, push) {
      if (event.includes(EVENT_SEPARATOR)) return reply("error", { reason: BridgeReplyError.INVALID_EVENT });
      const forwarded = withoutJoinToken(payload, channel.assigns.tokenSignature as string);
      const bare = encodeBare(forwarded);
      if (bare.byteLength > maxForwardPayloadBytes) {
        return reply("error", { reason: BridgeReplyError.PAYLOAD_TOO_LARGE, limit: maxForwardPayloadBytes });
      }
      const body = enveloped(channel.topic) ? envelope(forwarded, event, channel, push.ref, nodeId) : bare;
      try {
        await publisher.publish(`${FROM_PREFIX}${channel.topic}${EVENT_SEPARATOR}${event}`, body);
      } catch (failure) {
        logger.warn({ err: failure, topic: channel.topic, event }, "publish to backend failed");
        return reply("error", { reason: BridgeReplyError.BACKEND_UNREACHABLE });
      }
      return noreply;
    },
  };
}

function encodeBare(payload: Payload): Buffer {
  if (payload instanceof Uint8Array) return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  return Buffer.from(JSON.stringify(payload ?? null));
}

function envelope(payload: Payload, event: string, channel: Channel, ref: string | null, nodeId: string): string {
  return JSON.stringify({
    payload: payload instanceof Uint8Array ? { binary: Buffer.from(payload).toString("base64") } : payload,
    topic: channel.topic,
    event,
    ref,
    join_ref: channel.joinRef,
    user: channel.assigns.user,
    socket: channel.socket.id,
    node: nodeId,
  });
}

/**
 * What a channel keeps of its join token to recognise it in pushes: the signature segment of the
 * verified token (an HMAC of the rest, 43 characters for HS256) rather than the token itself
 * (about 200 characters in the bench, kept per joined channel). Copied: a slice of the token
 * would keep the whole token alive. A SHA-256 of the token served the same end, but its
 * `createHash` was ≈ 14 µs of a join in the join-rate profile, as much as the token check.
 */
function signatureOf(token: string): string {
  return Buffer.from(token.slice(token.lastIndexOf(".") + 1), "latin1").toString("latin1");
}

/**
 * A client that reuses its join params as a push payload would leak its join token to every
 * backend plugin listening on `from:*`; the token's field is dropped from the forwarded copy. A
 * `token` carrying the join token's signature is that token, or a copy of its signature: dropped
 * either way.
 */
function withoutJoinToken(payload: Payload, signature: string): Payload {
  if (!isObject(payload) || typeof payload.token !== "string" || !payload.token.endsWith(`.${signature}`)) return payload;
  const { token: _dropped, ...rest } = payload;
  return rest;
}
