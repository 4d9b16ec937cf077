import { createSecretKey } from "node:crypto";
import jwt from "jsonwebtoken";
import { isHmacAlgorithm, type HmacAlgorithm } from "./algorithms.ts";
import { channelAllowed, type ChannelClaim } from "./channel-claim.ts";
import { AuthErrorReason } from "./reasons.ts";

/** Claims of a verified token: tangram's `{id, channel, exp}` plus whatever else it carried. */
export interface TokenClaims {
  readonly id: string;
  readonly channel: ChannelClaim;
  readonly exp: number;
  readonly iat?: number;
  readonly nbf?: number;
  readonly iss?: string;
  readonly aud?: string | string[];
  readonly [claim: string]: unknown;
}

export type VerifyResult = { readonly ok: true; readonly claims: TokenClaims } | { readonly ok: false; readonly reason: AuthErrorReason };

export interface TokenVerifierOptions {
  readonly secret: string;
  /** Accepted algorithms (HS256/HS384/HS512); `none` is dropped even if listed. */
  readonly algorithms: readonly string[];
  readonly issuer?: string;
  readonly audience?: string;
  /** Seconds of clock skew forgiven on `exp` and `nbf` between token issuer and this node. */
  readonly clockToleranceSec?: number;
  /** Milliseconds since the epoch; tests pin the clock with it. */
  readonly now?: () => number;
}

export interface TokenVerifier {
  verify(token: unknown): VerifyResult;
  /** `verify`, then the `channel` claim must allow `topic` (else `token_channel_mismatch`). */
  verifyForTopic(token: unknown, topic: string): VerifyResult;
}

/** A JWT travels in a URL or a join payload; real claim sets are a few hundred bytes. Larger is refused
 * before any base64 or JSON work is spent on it. */
export const MAX_TOKEN_BYTES = 8192;
const DEFAULT_CLOCK_TOLERANCE_SEC = 5;

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  if (options.secret.length === 0) throw new Error("createTokenVerifier: secret must not be empty");
  const algorithms = options.algorithms.filter((algorithm) => algorithm.toLowerCase() !== "none");
  const unsupported = algorithms.filter((algorithm) => !isHmacAlgorithm(algorithm));
  if (algorithms.length === 0 || unsupported.length > 0) {
    throw new Error(`createTokenVerifier: algorithms must be among HS256, HS384, HS512 (got ${options.algorithms.join(", ") || "none"})`);
  }
  const allowed = algorithms as HmacAlgorithm[];
  // A string secret makes jsonwebtoken try (and fail) to parse it as a public key on every call,
  // which costs more than the HMAC itself; a KeyObject skips that.
  const key = createSecretKey(Buffer.from(options.secret, "utf8"));
  const clockTolerance = options.clockToleranceSec ?? DEFAULT_CLOCK_TOLERANCE_SEC;
  const now = options.now ?? Date.now;

  const verify = (token: unknown): VerifyResult => {
    if (typeof token !== "string" || token.length === 0) return refuse(AuthErrorReason.MISSING);
    if (token.length > MAX_TOKEN_BYTES) return refuse(AuthErrorReason.MALFORMED);

    // The header is read first so that `none` and off-list algorithms get their own reason rather
    // than a generic failure, and are refused before any signature work.
    const decoded = decodeUnverified(token);
    if (decoded === undefined || typeof decoded.payload !== "object") return refuse(AuthErrorReason.MALFORMED);
    if (!allowed.includes(decoded.header.alg as HmacAlgorithm)) return refuse(AuthErrorReason.ALGORITHM_REFUSED);

    let payload: jwt.JwtPayload;
    try {
      payload = jwt.verify(token, key, {
        algorithms: allowed,
        clockTolerance,
        clockTimestamp: Math.floor(now() / 1000),
      }) as jwt.JwtPayload;
    } catch (error) {
      return refuse(reasonFor(error));
    }

    if (options.issuer !== undefined && payload.iss !== options.issuer) return refuse(AuthErrorReason.ISSUER_MISMATCH);
    if (options.audience !== undefined && !audienceIncludes(payload.aud, options.audience)) {
      return refuse(AuthErrorReason.AUDIENCE_MISMATCH);
    }
    if (!hasTangramClaims(payload)) return refuse(AuthErrorReason.CLAIMS_INVALID);
    return { ok: true, claims: payload };
  };

  return {
    verify,
    verifyForTopic(token, topic) {
      const result = verify(token);
      if (result.ok && !channelAllowed(result.claims.channel, topic)) return refuse(AuthErrorReason.CHANNEL_MISMATCH);
      return result;
    },
  };
}

/** jsonwebtoken's decode throws (a JSON SyntaxError) for a `typ: JWT` header over a non-JSON payload. */
function decodeUnverified(token: string): jwt.Jwt | undefined {
  try {
    return jwt.decode(token, { complete: true }) ?? undefined;
  } catch {
    return undefined;
  }
}

function refuse(reason: AuthErrorReason): VerifyResult {
  return { ok: false, reason };
}

function reasonFor(error: unknown): AuthErrorReason {
  if (error instanceof jwt.TokenExpiredError) return AuthErrorReason.EXPIRED;
  if (error instanceof jwt.NotBeforeError) return AuthErrorReason.NOT_YET_VALID;
  if (error instanceof jwt.JsonWebTokenError) {
    // "jwt malformed", "invalid token", "jwt signature is required" are about shape; the rest
    // (bad signature, bad exp/nbf types) mean the token is not one we can trust.
    return /malformed|invalid token|signature is required/.test(error.message) ? AuthErrorReason.MALFORMED : AuthErrorReason.INVALID;
  }
  throw error;
}

function audienceIncludes(aud: unknown, expected: string): boolean {
  return aud === expected || (Array.isArray(aud) && aud.includes(expected));
}

function hasTangramClaims(payload: jwt.JwtPayload): payload is TokenClaims {
  const { id, channel, exp } = payload;
  const channelOk =
    (typeof channel === "string" && channel.length > 0) ||
    (Array.isArray(channel) && channel.length > 0 && channel.every((entry) => typeof entry === "string" && entry.length > 0));
  return typeof id === "string" && id.length > 0 && channelOk && typeof exp === "number" && Number.isFinite(exp);
}
