import type { Serializer } from "./serializer.ts";
import { v1, v2, v2Text } from "./serializers.ts";

/** Phoenix's default when a client sends no `vsn` (phoenix.js before 1.5 sent none). */
export const DEFAULT_VSN = "1.0.0";

const VERSION = /^(\d+)\.\d+\.\d+$/;

/**
 * The serializer for a connect request's `vsn`: absent → V1, `1.x.y` → V1, `2.x.y` → V2 (or its
 * text-only variant when the transport cannot carry binary frames). Undefined for anything else:
 * the transport refuses the connection (HTTP 403), as Phoenix does.
 */
export function serializerForVsn(vsn: string | undefined, opts?: { binary?: boolean }): Serializer | undefined {
  const major = VERSION.exec(vsn ?? DEFAULT_VSN)?.[1];
  if (major === "1") return v1;
  if (major === "2") return opts?.binary === false ? v2Text : v2;
  return undefined;
}
