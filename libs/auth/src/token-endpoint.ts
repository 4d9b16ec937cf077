import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { isAdminClaim } from "./channel-claim.ts";
import { readBody, sendError, sendJson } from "./http-json.ts";
import { checkOrigin } from "./origin.ts";
import { parseTokenRequest, type TokenRequest } from "./token-request.ts";

/**
 * - `open`: anyone may mint a token for any channel except `admin` (tangram's behaviour, for local
 *   development). Minting an admin-capable claim still takes the admin secret when one is set.
 * - `protected`: every request needs `Authorization: Bearer <adminSecret>`.
 * - `off`: the endpoint does not exist (404).
 */
export type TokenEndpointMode = "open" | "protected" | "off";

export interface TokenEndpointOptions {
  readonly mode: TokenEndpointMode;
  /** Signs the token; `issueToken` with the node's secret and TTL. */
  readonly issue: (request: TokenRequest) => string | Promise<string>;
  readonly adminSecret?: string;
  readonly allowedOrigins: readonly string[];
  readonly logger: Logger;
}

/** tangram's request is ~60 bytes; a list claim of 32 topics fits easily. */
export const MAX_TOKEN_REQUEST_BYTES = 16 * 1024;
/** How long a browser may cache a preflight answer. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;
const ALLOWED_METHODS = "POST, OPTIONS";
const BEARER_PREFIX = "bearer ";

/** `POST /token` (tangram: `{"channel","id"}` → `{"id","channel","token"}`), with CORS for the allowed origins. */
export function createTokenEndpoint(options: TokenEndpointOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const { mode, logger } = options;
  if (mode === "protected" && !options.adminSecret) throw new Error("createTokenEndpoint: protected mode needs an admin secret");
  const originAllowed = checkOrigin(options.allowedOrigins);
  const adminDigest = options.adminSecret ? digest(options.adminSecret) : undefined;

  return async (req, res) => {
    if (mode === "off") return sendError(res, 404, "not_found", "the token endpoint is disabled on this server");

    const origin = req.headers.origin;
    const allowed = originAllowed(origin);
    // Only allowed browser origins learn anything from a response; others get no CORS headers.
    const cors: OutgoingHttpHeaders = origin !== undefined && allowed ? { "access-control-allow-origin": origin, vary: "Origin" } : {};
    const log = logger.child({ endpoint: "/token", origin, remote: req.socket.remoteAddress });

    if (req.method === "OPTIONS") {
      if (!allowed) return sendError(res, 403, "origin_not_allowed", `origin ${origin} is not allowed`);
      res.writeHead(204, {
        ...cors,
        allow: ALLOWED_METHODS,
        "access-control-allow-methods": ALLOWED_METHODS,
        "access-control-allow-headers": "content-type, authorization",
        "access-control-max-age": String(PREFLIGHT_MAX_AGE_SECONDS),
      });
      return void res.end();
    }
    if (req.method !== "POST") {
      return sendError(res, 405, "method_not_allowed", `use POST (got ${req.method})`, { ...cors, allow: ALLOWED_METHODS });
    }
    if (!allowed) {
      log.warn("token request from a disallowed origin refused");
      return sendError(res, 403, "origin_not_allowed", `origin ${origin} is not allowed`);
    }

    const authorization = req.headers.authorization;
    const hasAdminSecret = authorization !== undefined && adminDigest !== undefined && bearerMatches(authorization, adminDigest);
    // A wrong secret is refused even in open mode: the caller meant to authenticate and should know it failed.
    if ((mode === "protected" || authorization !== undefined) && !hasAdminSecret) {
      log.warn("token request with a missing or wrong admin secret refused");
      return sendError(res, 401, "unauthorized", "a valid `Authorization: Bearer <admin secret>` header is required", {
        ...cors,
        "www-authenticate": 'Bearer realm="switchboard"',
      });
    }

    const body = await readBody(req, MAX_TOKEN_REQUEST_BYTES);
    if (!body.ok) {
      if (body.problem === "aborted") return;
      return sendError(res, 413, "payload_too_large", `request body over ${MAX_TOKEN_REQUEST_BYTES} bytes`, { ...cors, connection: "close" });
    }
    const parsed = parseTokenRequest(body.text);
    if (!parsed.ok) return sendError(res, 400, parsed.code, parsed.message, cors);

    const { request } = parsed;
    if (isAdminClaim(request.channel) && !hasAdminSecret) {
      log.warn({ channel: request.channel }, "admin-capable token refused without the admin secret");
      return sendError(res, 403, "admin_requires_secret", "a token that allows the admin channel needs the admin secret", cors);
    }
    const token = await options.issue(request);
    log.debug({ id: request.id, channel: request.channel, admin: hasAdminSecret }, "token issued");
    sendJson(res, 200, { id: request.id, channel: request.channel, token }, { ...cors, "cache-control": "no-store" });
  };
}

function digest(secret: string): Buffer {
  return createHash("sha256").update(secret).digest();
}

/** Constant-time: both sides are hashed to equal length first, so neither content nor length leaks. */
function bearerMatches(authorization: string, expected: Buffer): boolean {
  if (authorization.slice(0, BEARER_PREFIX.length).toLowerCase() !== BEARER_PREFIX) return false;
  return timingSafeEqual(digest(authorization.slice(BEARER_PREFIX.length).trim()), expected);
}
