/**
 * Why a token was refused. These strings are part of the wire contract: the client sees them as
 * `{"reason": ...}` in the `phx_reply` of a refused join, and apps branch on them (e.g. fetch a
 * new token on `token_expired`). Add codes; never rename one.
 */
export const AuthErrorReason = {
  /** No token at all, or not a string. */
  MISSING: "token_missing",
  /** Not a JWT: wrong shape, bad base64/JSON, or absurdly large. */
  MALFORMED: "token_malformed",
  /** `alg: none`, or an algorithm outside the configured allow-list. */
  ALGORITHM_REFUSED: "token_algorithm_refused",
  /** Signature does not match the secret. */
  INVALID: "token_invalid",
  EXPIRED: "token_expired",
  /** `nbf` is in the future (beyond the clock tolerance). */
  NOT_YET_VALID: "token_not_yet_valid",
  ISSUER_MISMATCH: "token_issuer_mismatch",
  AUDIENCE_MISMATCH: "token_audience_mismatch",
  /** Signed and current, but `id`, `channel` or `exp` is missing or of the wrong type. */
  CLAIMS_INVALID: "token_claims_invalid",
  /** Valid token whose `channel` claim does not cover the topic being joined. */
  CHANNEL_MISMATCH: "token_channel_mismatch",
} as const;

export type AuthErrorReason = (typeof AuthErrorReason)[keyof typeof AuthErrorReason];
