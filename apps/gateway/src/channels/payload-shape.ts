import type { Payload } from "@switchboard/protocol";

export function isObject(value: Payload): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** The `{"token": ..}` of a join payload; undefined when absent (the verifier names that). */
export function joinToken(payload: Payload): unknown {
  return isObject(payload) ? payload.token : undefined;
}
