import type { Algorithm } from "jsonwebtoken";

/**
 * HMAC only. The key is one shared secret; accepting a public-key algorithm next to HMAC on the
 * same key material is the classic algorithm-confusion attack. `none` is never on this list.
 */
export const HMAC_ALGORITHMS = ["HS256", "HS384", "HS512"] as const satisfies readonly Algorithm[];
export type HmacAlgorithm = (typeof HMAC_ALGORITHMS)[number];

export function isHmacAlgorithm(value: unknown): value is HmacAlgorithm {
  return (HMAC_ALGORITHMS as readonly unknown[]).includes(value);
}
