import type { Payload, Reply } from "@switchboard/protocol";

/** A backend's answer to one enveloped push, addressed to the socket that pushed it. */
export interface BackendReply {
  readonly socket: string;
  readonly reply: Reply;
}

export type BackendReplyResult = { ok: true; value: BackendReply } | { ok: false; error: string };

/**
 * Reads the body of `PUBLISH reply:<topic> <body>`. The backend copies `socket`, `ref` and
 * `join_ref` from the envelope it received and adds `status` ("ok" unless it says "error") and
 * `response` (`{}` when absent), which the pushing client's `push(...).receive(status, cb)` gets.
 */
export function parseBackendReply(topic: string, body: Buffer): BackendReplyResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    return { ok: false, error: "reply body is not JSON" };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return { ok: false, error: "reply body is not a JSON object" };
  const fields = parsed as Record<string, unknown>;
  if (typeof fields.socket !== "string" || fields.socket.length === 0) return { ok: false, error: "reply needs the envelope's socket" };
  if (typeof fields.ref !== "string") return { ok: false, error: "reply needs the envelope's ref" };
  const joinRef = fields.join_ref ?? null;
  if (joinRef !== null && typeof joinRef !== "string") return { ok: false, error: "join_ref must be a string or null" };
  const status = fields.status ?? "ok";
  if (status !== "ok" && status !== "error") return { ok: false, error: 'status must be "ok" or "error"' };
  const response: Payload = fields.response ?? {};
  return { ok: true, value: { socket: fields.socket, reply: { joinRef, ref: fields.ref, topic, status, response } } };
}
