import { randomUUID } from "node:crypto";
import { isChannelPattern, type ChannelClaim } from "./channel-claim.ts";

/** What a `/token` caller asks for; `id` is generated when the caller sends none (tangram's
 * frontend asks for its first token without one and keeps the id it gets back). */
export interface TokenRequest {
  readonly id: string;
  readonly channel: ChannelClaim;
}

export type TokenRequestResult =
  | { readonly ok: true; readonly request: TokenRequest }
  | { readonly ok: false; readonly code: "invalid_json" | "invalid_request"; readonly message: string };

/** Topics travel in V2 binary frames with a one-byte length, so a longer claim could never match. */
const MAX_CHANNEL_BYTES = 255;
/** An id is a presence key every member of a topic receives; this bounds what one caller can make others store. */
const MAX_ID_BYTES = 255;
/** A list claim is for a handful of topics; more belongs in a `prefix:*` pattern. */
const MAX_CHANNELS_PER_TOKEN = 32;

const USAGE = 'expected a JSON object {"channel": "<topic or prefix:*>", "id": "<user id, optional>"}';

export function parseTokenRequest(body: string): TokenRequestResult {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { ok: false, code: "invalid_json", message: `body is not JSON: ${USAGE}` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, code: "invalid_request", message: USAGE };
  }
  const { channel, id } = value as Record<string, unknown>;

  const channelProblem = describeChannelProblem(channel);
  if (channelProblem !== undefined) return { ok: false, code: "invalid_request", message: `channel ${channelProblem}` };
  if (id !== undefined && id !== null && !isBoundedString(id, MAX_ID_BYTES)) {
    return { ok: false, code: "invalid_request", message: `id must be a non-empty string of at most ${MAX_ID_BYTES} bytes` };
  }
  return { ok: true, request: { id: typeof id === "string" ? id : randomUUID(), channel: channel as ChannelClaim } };
}

function describeChannelProblem(channel: unknown): string | undefined {
  if (channel === undefined || channel === null) return `is missing: ${USAGE}`;
  const entries = Array.isArray(channel) ? channel : [channel];
  if (entries.length === 0 || entries.length > MAX_CHANNELS_PER_TOKEN) {
    return `must be a topic pattern or a list of 1 to ${MAX_CHANNELS_PER_TOKEN} of them`;
  }
  const valid = entries.every((entry) => isBoundedString(entry, MAX_CHANNEL_BYTES) && isChannelPattern(entry));
  return valid ? undefined : `must be "*", an exact topic or "prefix:*" (a string of at most ${MAX_CHANNEL_BYTES} bytes), or a list of them`;
}

function isBoundedString(value: unknown, maxBytes: number): value is string {
  return typeof value === "string" && value.length > 0 && Buffer.byteLength(value) <= maxBytes;
}
