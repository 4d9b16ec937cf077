import assert from "node:assert/strict";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import fc from "fast-check";
import { pino } from "pino";
import { createTokenEndpoint, createTokenVerifier, issueToken } from "@switchboard/auth";

const SECRET = "fuzz-test-secret-0123456789abcdef0123";
const ADMIN_SECRET = "fuzz-admin-secret";
const ALLOWED_ORIGIN = "http://localhost:5173";
const TIMEOUT_MS = 5000;
/** Enough random requests to hit every branch many times while staying well under a second or two. */
const RUNS = 300;

/** Every status the endpoint documents, with the error codes allowed for it. */
const DOCUMENTED: Record<number, readonly string[]> = {
  200: [],
  204: [],
  400: ["invalid_json", "invalid_request"],
  401: ["unauthorized"],
  403: ["origin_not_allowed", "admin_requires_secret"],
  405: ["method_not_allowed"],
  413: ["payload_too_large"],
};

let server: Server;
let port: number;
let handlerFailures = 0;

before(async () => {
  const handler = createTokenEndpoint({
    mode: "open",
    adminSecret: ADMIN_SECRET,
    allowedOrigins: [ALLOWED_ORIGIN],
    logger: pino({ level: "silent" }),
    issue: (claims) => issueToken({ ...claims, secret: SECRET, ttlSeconds: 60 }),
  });
  server = createServer((req, res) => {
    handler(req, res).catch(() => {
      handlerFailures++;
      res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Methods whose requests carry a body; Node's own keep-alive handling resets a GET that carries one. */
const METHODS_WITH_BODY = new Set(["POST", "PUT", "PATCH", "DELETE"]);
/** Over the 16 KiB limit; named rather than generated so a failure prints a short counterexample. */
const OVERSIZED = "oversized";
const OVERSIZED_BODY = Buffer.alloc(20 * 1024, 0x61);

function send(method: string, headers: Record<string, string>, body: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // One connection per request keeps each run independent of the previous one.
    const req = request({ host: "127.0.0.1", port, path: "/token", method, headers, timeout: TIMEOUT_MS, agent: false });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("timeout", () => req.destroy(new Error("no answer in time")));
    req.on("error", reject);
    req.end(METHODS_WITH_BODY.has(method) ? body : undefined);
  });
}

const jsonish = fc.oneof(
  fc.json().map((text) => Buffer.from(text)),
  fc.record({
    channel: fc.oneof(fc.string(), fc.constantFrom("admin", "*", "rooms:*", "system"), fc.array(fc.string(), { maxLength: 40 }), fc.integer(), fc.constant(null)),
    id: fc.option(fc.oneof(fc.string({ maxLength: 300 }), fc.integer()), { nil: undefined }),
  }).map((value) => Buffer.from(JSON.stringify(value))),
  fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.from(bytes)),
  fc.constant(OVERSIZED),
);

const requestArbitrary = fc.record({
  method: fc.constantFrom("POST", "POST", "POST", "OPTIONS", "GET", "PUT", "DELETE", "PATCH"),
  origin: fc.option(fc.constantFrom(ALLOWED_ORIGIN, "https://evil.example.com", "null", "garbage"), { nil: undefined }),
  authorization: fc.option(fc.constantFrom(`Bearer ${ADMIN_SECRET}`, "Bearer wrong", "Basic abc", ""), { nil: undefined }),
  contentType: fc.constantFrom("application/json", "text/plain", "application/x-www-form-urlencoded"),
  body: jsonish,
});

const verifier = createTokenVerifier({ secret: SECRET, algorithms: ["HS256"] });

test("random requests always get a documented status, a JSON error shape, and only valid tokens", async () => {
  await fc.assert(
    fc.asyncProperty(requestArbitrary, async ({ method, origin, authorization, contentType, body }) => {
      const headers: Record<string, string> = { "content-type": contentType };
      if (origin !== undefined) headers.origin = origin;
      if (authorization !== undefined) headers.authorization = authorization;
      const answer = await send(method, headers, body === OVERSIZED ? OVERSIZED_BODY : body);

      assert.ok(answer.status in DOCUMENTED, `undocumented status ${answer.status}`);
      const allowedOrigin = origin === undefined || origin === ALLOWED_ORIGIN;
      if (!allowedOrigin) assert.equal(answer.headers["access-control-allow-origin"], undefined);
      if (answer.status === 204) return;

      const parsed = JSON.parse(answer.body) as { error?: { code: string; message: string }; token?: string; channel?: unknown };
      if (answer.status === 200) {
        assert.equal(method, "POST");
        const verified = verifier.verify(parsed.token);
        assert.ok(verified.ok, "an issued token verifies");
        assert.deepEqual(verified.claims.channel, parsed.channel);
        return;
      }
      assert.ok(parsed.error && DOCUMENTED[answer.status].includes(parsed.error.code), `${answer.status} ${answer.body}`);
    }),
    { numRuns: RUNS },
  );
  assert.equal(handlerFailures, 0, "the handler never rejected");
});
