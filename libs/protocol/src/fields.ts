import type { Ref } from "./message.ts";
import type { DecodeError } from "./serializer.ts";

/**
 * Checks of decoded JSON fields, shared by every text decoder. Each returns the typed value or a
 * DecodeError naming the field, so a peer learns (in logs) exactly what it got wrong.
 */
export type FieldResult<T> = { ok: true; value: T } | { ok: false; error: DecodeError };

export function readRef(value: unknown, field: string): FieldResult<Ref> {
  if (value === null || typeof value === "string") return { ok: true, value };
  return invalidField(field, "a string or null", value);
}

/** Topics and events route messages: an empty or non-string one can only be a client bug. */
export function readName(value: unknown, field: string): FieldResult<string> {
  if (typeof value === "string" && value.length > 0) return { ok: true, value };
  return invalidField(field, "a non-empty string", value);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function hasOwn(object: Record<string, unknown>, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key);
}

function invalidField(field: string, expected: string, value: unknown): { ok: false; error: DecodeError } {
  return { ok: false, error: { code: "invalid_field", detail: `${field} must be ${expected}, got ${describe(value)}` } };
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return "an empty string";
  return `a ${typeof value}`;
}
