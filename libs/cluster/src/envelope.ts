import { isRawJson, payloadValue, trustedRawJson, type Broadcast, type Message, type Payload, type Reply } from "@switchboard/protocol";

/**
 * What travels inside the adapter's packet between nodes: Phoenix values, never encoded frames,
 * because each node encodes for the wire formats of its own members.
 *
 * Tuples keep the Redis messages small (the adapter JSON- or msgpack-encodes them as they are):
 *   ["b", topic, event, payload]                  broadcast to a topic
 *   ["b", topic, event, payload, historyId]       broadcast recorded in the topic's history
 *   ["j", topic, event, jsonBytes(, historyId)]   broadcast of a RawJson payload, as its UTF-8 bytes
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
      // As bytes the text is copied into the adapter's message and sliced out of it again, never
      // escaped as a JSON string nor parsed.
      const data = isRawJson(payload) ? ["j", topic, event, payload.bytes] : ["b", topic, event, payload];
      if (envelope.historyId !== undefined) data.push(envelope.historyId);
      return { type: EVENT_PACKET, data };
    }
    case "push": {
      const { joinRef, ref, topic, event, payload } = envelope.message;
      return { type: EVENT_PACKET, data: ["p", joinRef, ref, topic, event, payloadValue(payload)] };
    }
    case "reply": {
      const { joinRef, ref, topic, status, response } = envelope.reply;
      return { type: EVENT_PACKET, data: ["r", joinRef, ref, topic, status, payloadValue(response)] };
    }
  }
}

/** Undefined for a packet this version does not understand (another version, or garbage). */
export function envelopeOf(packet: unknown): Envelope | undefined {
  if (typeof packet !== "object" || packet === null) return undefined;
  const data: unknown = (packet as { data?: unknown }).data;
  if (!Array.isArray(data)) return undefined;
  const [kind] = data;
  if ((kind === "b" || kind === "j") && (data.length === 4 || data.length === 5) && isName(data[1]) && isName(data[2])) {
    const historyId: unknown = data[4];
    if (historyId !== undefined && !isName(historyId)) return undefined;
    const payload = kind === "b" ? normalisePayload(data[3]) : rawJsonOf(data[3]);
    if (kind === "j" && payload === undefined) return undefined;
    const broadcast: Broadcast = { topic: data[1], event: data[2], payload };
    return historyId === undefined ? { kind: "broadcast", broadcast } : { kind: "broadcast", broadcast, historyId };
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

/** The bytes of a "j" broadcast, checked as JSON by the node that published them. */
function rawJsonOf(bytes: unknown): Payload | undefined {
  const normalised = normalisePayload(bytes);
  if (!(normalised instanceof Uint8Array)) return undefined;
  return trustedRawJson(Buffer.isBuffer(normalised) ? normalised : Buffer.from(normalised.buffer, normalised.byteOffset, normalised.byteLength));
}

/**
 * Bytes come back from the adapter's msgpack as a Buffer (a Uint8Array, so nothing to do) or,
 * from peers using msgpack's ArrayBuffer extension, as a bare ArrayBuffer.
 */
function normalisePayload(payload: Payload): Payload {
  return payload instanceof ArrayBuffer ? new Uint8Array(payload) : payload;
}
