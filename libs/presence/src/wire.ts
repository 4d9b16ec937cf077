import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import * as syncProtocol from "y-protocols/sync";

/**
 * The messages nodes exchange on the shared presence channel. Every message names its sender
 * incarnation and carries that incarnation's sequence number, so a receiver that missed one
 * (Redis outage, dropped subscription) notices the gap and asks the owner for a resync.
 *
 * Each node owns one document holding all its topics (see OwnedDoc).
 * - `changes`: the increment (or the full state of a new or rotated generation) of the sender's
 *   document, batched over one flush tick.
 * - `sync-request`: sent to everyone (`target` "") by a node that starts or whose subscription
 *   came back, or to one owner after a gap; it lists the state vector (y-protocols sync step 1) of
 *   every replica the requester holds, each owner answers for its own.
 * - `snapshot`: an owner's answer: its document, as sync step 2 against the requester's state
 *   vector when the generation matches, else full.
 * - `heartbeat`: nothing but the sequence number, so a gap is noticed even when nothing changes.
 * - `bye`: graceful close; receivers drop every entry of the sender.
 */
/** 3: one flat map of entries per node document (2 had a nested map per topic, 1 a document per topic and node). */
export const WIRE_VERSION = 3;

const Kind = { changes: 1, snapshot: 2, "sync-request": 3, heartbeat: 4, bye: 5 } as const;
type KindName = keyof typeof Kind;
const kindByCode = new Map<number, KindName>(Object.entries(Kind).map(([name, code]) => [code, name as KindName]));

/** The sender's document's contribution: `sync` is a y-protocols sync step 2 or update message. */
export interface DocItem {
  generation: number;
  /** A full state replaces the replica; otherwise it applies only to the same generation. */
  full: boolean;
  sync: Uint8Array;
}

/** What a requester holds of `owner`'s document. */
export interface SyncWant {
  owner: string;
  generation: number;
  stateVector: Uint8Array;
}

export type MessageBody =
  | { kind: "changes"; items: DocItem[] }
  | { kind: "snapshot"; for: string; items: DocItem[] }
  | { kind: "sync-request"; target: string; wants: SyncWant[] }
  | { kind: "heartbeat" }
  | { kind: "bye" };

export type Message = MessageBody & { from: string; seq: number };

/** `foreignVersion`: the message is another wire version's (a node of another release during a rollout). */
export type DecodeResult = { ok: true; message: Message } | { ok: false; reason: string; foreignVersion?: number };

export function encodeMessage(message: Message): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, WIRE_VERSION);
  encoding.writeVarUint(encoder, Kind[message.kind]);
  encoding.writeVarString(encoder, message.from);
  encoding.writeVarUint(encoder, message.seq);
  switch (message.kind) {
    case "changes":
      writeItems(encoder, message.items);
      break;
    case "snapshot":
      encoding.writeVarString(encoder, message.for);
      writeItems(encoder, message.items);
      break;
    case "sync-request":
      encoding.writeVarString(encoder, message.target);
      encoding.writeVarUint(encoder, message.wants.length);
      for (const want of message.wants) {
        encoding.writeVarString(encoder, want.owner);
        encoding.writeVarUint(encoder, want.generation);
        encoding.writeVarUint(encoder, syncProtocol.messageYjsSyncStep1);
        encoding.writeVarUint8Array(encoder, want.stateVector);
      }
      break;
    case "heartbeat":
    case "bye":
      break;
  }
  return encoding.toUint8Array(encoder);
}

/** Never throws: a malformed message from another process is reported, not raised. */
export function decodeMessage(bytes: Uint8Array): DecodeResult {
  try {
    const decoder = decoding.createDecoder(bytes);
    const version = decoding.readVarUint(decoder);
    if (version !== WIRE_VERSION) return { ok: false, reason: `unknown wire version ${version}`, foreignVersion: version };
    const code = decoding.readVarUint(decoder);
    const kind = kindByCode.get(code);
    if (!kind) return { ok: false, reason: `unknown message kind ${code}` };
    const from = decoding.readVarString(decoder);
    const seq = decoding.readVarUint(decoder);
    const body = readBody(decoder, kind);
    if (decoding.hasContent(decoder)) return { ok: false, reason: "trailing bytes" };
    return { ok: true, message: { ...body, from, seq } };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

function readBody(decoder: decoding.Decoder, kind: KindName): MessageBody {
  switch (kind) {
    case "changes":
      return { kind, items: readItems(decoder) };
    case "snapshot": {
      const requester = decoding.readVarString(decoder);
      return { kind, for: requester, items: readItems(decoder) };
    }
    case "sync-request": {
      const target = decoding.readVarString(decoder);
      const wants: SyncWant[] = [];
      for (let count = decoding.readVarUint(decoder); count > 0; count -= 1) {
        const owner = decoding.readVarString(decoder);
        const generation = decoding.readVarUint(decoder);
        const type = decoding.readVarUint(decoder);
        if (type !== syncProtocol.messageYjsSyncStep1) throw new Error(`sync request carries sync message type ${type}`);
        wants.push({ owner, generation, stateVector: decoding.readVarUint8Array(decoder) });
      }
      return { kind, target, wants };
    }
    case "heartbeat":
    case "bye":
      return { kind };
  }
}

function writeItems(encoder: encoding.Encoder, items: DocItem[]): void {
  encoding.writeVarUint(encoder, items.length);
  for (const item of items) {
    encoding.writeVarUint(encoder, item.generation);
    encoding.writeUint8(encoder, item.full ? 1 : 0);
    encoding.writeVarUint8Array(encoder, item.sync);
  }
}

function readItems(decoder: decoding.Decoder): DocItem[] {
  const items: DocItem[] = [];
  for (let count = decoding.readVarUint(decoder); count > 0; count -= 1) {
    const generation = decoding.readVarUint(decoder);
    const full = decoding.readUint8(decoder) === 1;
    items.push({ generation, full, sync: decoding.readVarUint8Array(decoder) });
  }
  return items;
}
