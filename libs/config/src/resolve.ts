import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { OPTIONS, type Config, type OptionKey } from "./options.ts";
import { parseUrl } from "./value-types.ts";

/** Values given explicitly (env or file), already validated; the rest gets defaults here. */
export type GivenValues = { -readonly [K in OptionKey]?: Config[K] };

export interface Resolved {
  readonly config?: Config;
  readonly errors: string[];
  readonly warnings: string[];
}

/** RFC 7518 §3.2: an HS256 key at least as long as the hash (256 bits); used for generated secrets too. */
const MIN_SECRET_BYTES = 32;
/** Past a day a stolen token stays useful for long; tangram's example config issues 10-year tokens. */
const LONG_TOKEN_TTL_SECONDS = 24 * 60 * 60;
/** Addresses that mean "every interface": fine to listen on, useless in a URL a browser opens. */
const WILDCARD_HOSTS = new Set(["0.0.0.0", "::", "[::]"]);

export function resolveConfig(given: GivenValues): Resolved {
  const errors: string[] = [];
  const warnings: string[] = [];
  const values: GivenValues = { ...given };

  for (const key of Object.keys(OPTIONS) as OptionKey[]) {
    const spec = OPTIONS[key].default;
    // Unset optional keys stay present (as undefined) so the config always has every key.
    if (values[key] === undefined) Object.assign(values, { [key]: spec.kind === "value" ? spec.value : undefined });
  }
  const port = values.port as number;
  const host = values.host as string;

  values.nodeId ??= `${hostname().replace(/[^A-Za-z0-9._:-]/g, "-")}-${process.pid}`;
  if (values.jwtSecret === undefined) {
    values.jwtSecret = randomBytes(MIN_SECRET_BYTES).toString("hex");
    warnings.push(
      "JWT_SECRET is not set: using a random secret, so tokens will not survive a restart and will not be accepted by other nodes",
    );
  } else if (Buffer.byteLength(values.jwtSecret) < MIN_SECRET_BYTES) {
    warnings.push(`JWT secret is ${Buffer.byteLength(values.jwtSecret)} bytes; use at least ${MIN_SECRET_BYTES} random bytes`);
  }
  values.publicUrl ??= `http://${urlHost(host)}:${port}`;
  const publicOrigin = parseUrl(values.publicUrl)?.origin;
  if (publicOrigin === undefined) {
    errors.push(`cannot derive a public URL from HOST ${JSON.stringify(host)}; set PUBLIC_URL`);
  } else {
    values.allowedOrigins ??= [...new Set([publicOrigin, `http://localhost:${port}`, `http://127.0.0.1:${port}`])];
  }

  if (values.tokenEndpoint === "protected" && values.adminSecret === undefined) {
    errors.push("TOKEN_ENDPOINT is protected but ADMIN_SECRET ([switchboard].admin_secret) is not set");
  }
  if (values.tokenEndpoint === "open") {
    warnings.push("TOKEN_ENDPOINT is open: anyone who can reach POST /token can mint a token for any channel (set protected or off outside development)");
  }
  if ((values.tokenTtlSeconds as number) > LONG_TOKEN_TTL_SECONDS) {
    warnings.push(`issued tokens live ${values.tokenTtlSeconds} s; a leaked token cannot be revoked before it expires`);
  }

  if (errors.length > 0) return { errors, warnings };
  return { config: deepFreeze(values as Config), errors, warnings };
}

function urlHost(host: string): string {
  if (WILDCARD_HOSTS.has(host)) return "127.0.0.1";
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/** The config is flat: its only nested values are lists, so two levels freeze all of it. */
function deepFreeze<T extends object>(value: T): T {
  for (const field of Object.values(value)) {
    if (typeof field === "object" && field !== null) Object.freeze(field);
  }
  return Object.freeze(value);
}
