import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * LongPoll session tokens. A token names the node that owns the session and the engine.io socket
 * id on that node, so any node can tell where to relay a poll; the HMAC (shared secret) makes it
 * impossible to forge one or to point a token at another session.
 *
 *   "1" . base64url(node id) . session id . issue time (ms, base36) . base64url(HMAC-SHA256 of the rest)
 *
 * The version comes first so the layout can change without misreading old tokens.
 */
const TOKEN_VERSION = "1";
const SEPARATOR = ".";
/** An engine.io id is 20 base64url characters; anything much longer is not ours. */
const MAX_TOKEN_LENGTH = 512;

export interface SessionRef {
  nodeId: string;
  sessionId: string;
  issuedAt: number;
}

export interface SessionTokens {
  issue(ref: SessionRef): string;
  /** undefined for anything malformed, forged or from another secret. Never throws. */
  verify(token: string): SessionRef | undefined;
}

export function sessionTokens(secret: string): SessionTokens {
  const sign = (body: string) => createHmac("sha256", secret).update(body).digest();
  return {
    issue({ nodeId, sessionId, issuedAt }) {
      const body = [TOKEN_VERSION, Buffer.from(nodeId).toString("base64url"), sessionId, issuedAt.toString(36)].join(SEPARATOR);
      return body + SEPARATOR + sign(body).toString("base64url");
    },
    verify(token) {
      if (token.length > MAX_TOKEN_LENGTH) return undefined;
      const parts = token.split(SEPARATOR);
      if (parts.length !== 5 || parts[0] !== TOKEN_VERSION) return undefined;
      const [, encodedNode, sessionId, issuedAt, mac] = parts as [string, string, string, string, string];
      // Compared as text: base64url decoding ignores the last character's spare bits, so comparing
      // decoded bytes would accept several spellings of one MAC.
      const expected = Buffer.from(sign(parts.slice(0, 4).join(SEPARATOR)).toString("base64url"));
      const given = Buffer.from(mac);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
      return { nodeId: Buffer.from(encodedNode, "base64url").toString("utf8"), sessionId, issuedAt: parseInt(issuedAt, 36) };
    },
  };
}
