import type { IncomingMessage } from "node:http";
import { serializerForVsn } from "@switchboard/protocol";
import type { Serializer } from "@switchboard/protocol";
import { connectParams } from "./connect-params.ts";
import type { TransportKind } from "./types.ts";

export interface Negotiated {
  serializer: Serializer;
  /** V2 clients may send binary frames (LongPoll carries them as base64 ndjson lines). */
  binaryFrames: boolean;
  params: Readonly<Record<string, string>>;
}

/**
 * The serializer and connect params of a connecting client; undefined for a vsn we do not speak
 * (Phoenix answers 403). LongPoll gets the text-only variant: binary cannot travel in its JSON answers.
 */
export function negotiate(kind: TransportKind, query: URLSearchParams, req: IncomingMessage): Negotiated | undefined {
  const serializer = serializerForVsn(query.get("vsn") ?? undefined, { binary: kind !== "longpoll" });
  if (!serializer) return undefined;
  return { serializer, binaryFrames: serializer.vsn === "2.0.0", params: connectParams(query, req.headers, kind) };
}
