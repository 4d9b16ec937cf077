import type { Broadcast, Message, Payload, Reply } from "@switchboard/protocol";

/**
 * What travels inside the adapter's packet between nodes: Phoenix values, never encoded frames,
 * because each node encodes for the wire formats of its own members.
 *
 * Tuples keep the Redis messages small (the adapter JSON- or msgpack-encodes them as they are):
 *   ["b", topic, event, payload]                  broadcast to a topic
 *   ["b", topic, event, payload, historyId]       broadcast recorded in the topic's history
 *   ["p", joinRef, ref, topic, event, payload]    push to one member
 *   ["r", joinRef, ref, topic, status, response]  phx_reply to one member
 */
export type Envelope =
  | { kind: "broadcast"; broadcast: Broadcast; historyId?: string }
  | { kind: "push"; message: Message }
  | { kind: "reply"; reply: Reply };

/** socket.io's EVENT packet type; the in-memory adapter only passes it along. */
const EVENT_PACKET = 2;

export interface AdapterPacket {
  type: number;
  data: unknown[];
  nsp?: string;
}

export function packetOf(envelope: Envelope): AdapterPacket {
  switch (envelope.kind) {
    case "broadcast": {
      const { topic, event, payload } = envelope.broadcast;
      const data = ["b", topic, event, payload];
      if (envelope.historyId !== undefined) data.push(envelope.historyId);
      return { type: EVENT_PACKET, data };
    }
    case "push": {
      const { joinRef, ref, topic, event, payload } = envelope.message;
      return { type: EVENT_PACKET, data: ["p", joinRef, ref, topic, event, payload] };
    }
    case "reply": {
      const { joinRef, ref, topic, status, response } = envelope.reply;
      return { type: EVENT_PACKET, data: ["r", joinRef, ref, topic, status, response] };
    }
  }
}

/** Undefined for a packet this version does not understand (another version, or garbage). */
export function envelopeOf(packet: unknown): Envelope | undefined {
  if (typeof packet !== "object" || packet === null) return undefined;
  const data: unknown = (packet as { data?: unknown }).data;
  if (!Array.isArray(data)) return undefined;
  const [kind] = data;
  if (kind === "b" && data.length === 4 && isName(data[1]) && isName(data[2])) {
    return { kind: "broadcast", broadcast: { topic: data[1], event: data[2], payload: normalisePayload(data[3]) } };
  }
  if (kind === "b" && data.length === 5 && isName(data[1]) && isName(data[2]) && isName(data[4])) {
    return { kind: "broadcast", broadcast: { topic: data[1], event: data[2], payload: normalisePayload(data[3]) }, historyId: data[4] };
  }
  if (data.length !== 6 || !isRef(data[1]) || !isRef(data[2]) || !isName(data[3])) return undefined;
  const [, joinRef, ref, topic, fifth, sixth] = data;
  if (kind === "p" && isName(fifth)) {
    return { kind: "push", message: { joinRef, ref, topic, event: fifth, payload: normalisePayload(sixth) } };
  }
  if (kind === "r" && (fifth === "ok" || fifth === "error")) {
    return { kind: "reply", reply: { joinRef, ref, topic, status: fifth, response: normalisePayload(sixth) } };
  }
  return undefined;
}

function isName(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

function isRef(value: unknown): value is string | null {
  return value === null || typeof value === "string";
}

/**
 * Bytes come back from the adapter's msgpack as a Buffer (a Uint8Array, so nothing to do) or,
 * from peers using msgpack's ArrayBuffer extension, as a bare ArrayBuffer.
 */
function normalisePayload(payload: Payload): Payload {
  return payload instanceof ArrayBuffer ? new Uint8Array(payload) : payload;
}
