import { createSecretKey, type KeyObject } from "node:crypto";
import jwt from "jsonwebtoken";
import { isHmacAlgorithm, type HmacAlgorithm } from "./algorithms.ts";
import type { ChannelClaim } from "./channel-claim.ts";

export interface IssueTokenOptions {
  /** User id: the presence key, and the sender in envelope mode. */
  readonly id: string;
  readonly channel: ChannelClaim;
  readonly ttlSeconds: number;
  readonly secret: string;
  readonly algorithm?: HmacAlgorithm;
  readonly issuer?: string;
  readonly audience?: string;
  /** Milliseconds since the epoch; tests pin the clock with it. */
  readonly now?: () => number;
}

/**
 * A tangram-compatible join token: claims `{id, channel, iat, exp}` (+ `iss`/`aud` when
 * configured), HS256 unless told otherwise. Expiry is explicit so a token never lives forever.
 */
export function issueToken(options: IssueTokenOptions): string {
  return sign(secretKey(options.secret), options);
}

/** A string secret makes jsonwebtoken try (and fail) to parse it as a private key on every call,
 * which costs more than the HMAC itself; a KeyObject skips that. */
function secretKey(secret: string): KeyObject {
  return createSecretKey(Buffer.from(secret, "utf8"));
}

function sign(key: KeyObject, options: Omit<IssueTokenOptions, "secret">): string {
  if (!(options.ttlSeconds > 0)) throw new Error("issueToken: ttlSeconds must be positive");
  const iat = Math.floor((options.now ?? Date.now)() / 1000);
  const claims: Record<string, unknown> = { id: options.id, channel: options.channel, iat, exp: iat + Math.floor(options.ttlSeconds) };
  if (options.issuer !== undefined) claims.iss = options.issuer;
  if (options.audience !== undefined) claims.aud = options.audience;
  // jsonwebtoken keeps a given `iat` (and only invents one when absent), so the pinned clock holds.
  return jwt.sign(claims, key, { algorithm: options.algorithm ?? "HS256" });
}

export interface TokenIssuerOptions {
  readonly secret: string;
  /** The verifier's allow-list: tokens are signed with its first entry, so they always pass it. */
  readonly algorithms: readonly string[];
  readonly ttlSeconds: number;
  readonly issuer?: string;
  readonly audience?: string;
  readonly now?: () => number;
}

/**
 * `issueToken` bound to the same options a `createTokenVerifier` gets (plus the TTL), so a node
 * cannot mint tokens its own verifier refuses (another algorithm, a missing `iss`/`aud`).
 */
export function createTokenIssuer(options: TokenIssuerOptions): (claims: { id: string; channel: ChannelClaim }) => string {
  const algorithm = options.algorithms.find(isHmacAlgorithm);
  if (algorithm === undefined) throw new Error(`createTokenIssuer: no HMAC algorithm among ${options.algorithms.join(", ") || "none"}`);
  const key = secretKey(options.secret);
  const { ttlSeconds, issuer, audience, now } = options;
  return (claims) => sign(key, { ...claims, ttlSeconds, algorithm, issuer, audience, now });
}
