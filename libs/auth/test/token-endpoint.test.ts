import assert from "node:assert/strict";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import {
  createTokenEndpoint,
  createTokenVerifier,
  issueToken,
  MAX_TOKEN_REQUEST_BYTES,
  type TokenEndpointMode,
} from "@switchboard/auth";

const SECRET = "endpoint-test-secret-0123456789abcdef";
const ADMIN_SECRET = "admin-secret-for-tests";
const ALLOWED_ORIGIN = "http://localhost:5173";
const verifier = createTokenVerifier({ secret: SECRET, algorithms: ["HS256"] });

interface Endpoint {
  url: string;
  server: Server;
}

async function serve(mode: TokenEndpointMode, adminSecret?: string): Promise<Endpoint> {
  const handler = createTokenEndpoint({
    mode,
    adminSecret,
    allowedOrigins: [ALLOWED_ORIGIN],
    logger: pino({ level: "silent" }),
    issue: (claims) => issueToken({ ...claims, secret: SECRET, ttlSeconds: 3600 }),
  });
  const server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token` };
}

const endpoints: Endpoint[] = [];
let open: Endpoint;
let openWithSecret: Endpoint;
let protectedMode: Endpoint;
let off: Endpoint;

before(async () => {
  [open, openWithSecret, protectedMode, off] = await Promise.all([
    serve("open"),
    serve("open", ADMIN_SECRET),
    serve("protected", ADMIN_SECRET),
    serve("off"),
  ]);
  endpoints.push(open, openWithSecret, protectedMode, off);
});

after(async () => {
  await Promise.all(endpoints.map(({ server }) => new Promise((resolve) => server.close(resolve))));
});

const TIMEOUT_MS = 5000;

function post(endpoint: Endpoint, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(endpoint.url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
}

async function expectError(response: Response, status: number, code: string): Promise<string> {
  assert.equal(response.status, status);
  assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
  const body = (await response.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, code);
  assert.ok(body.error.message.length > 0);
  return body.error.message;
}

describe("open mode (tangram's behaviour)", () => {
  test('{"channel","id"} → {"id","channel","token"}, and the token joins that channel', async () => {
    const response = await post(open, { channel: "rooms:lobby", id: "alice" });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("cache-control"), "no-store");
    const body = (await response.json()) as { id: string; channel: string; token: string };
    assert.deepEqual(Object.keys(body).sort(), ["channel", "id", "token"]);
    assert.equal(body.id, "alice");
    assert.equal(body.channel, "rooms:lobby");
    const verified = verifier.verifyForTopic(body.token, "rooms:lobby");
    assert.ok(verified.ok);
    assert.equal(verified.claims.id, "alice");
    assert.equal(verifier.verifyForTopic(body.token, "rooms:other").ok, false);
  });

  test("without an id (tangram's first request) one is generated and returned", async () => {
    const first = (await (await post(open, { channel: "system" })).json()) as { id: string; token: string };
    const second = (await (await post(open, { channel: "system" })).json()) as { id: string };
    assert.match(first.id, /^[0-9a-f-]{36}$/);
    assert.notEqual(first.id, second.id);
    const verified = verifier.verify(first.token);
    assert.ok(verified.ok && verified.claims.id === first.id);
  });

  test("patterns and lists are accepted", async () => {
    const body = (await (await post(open, { channel: ["system", "rooms:*"], id: "bob" })).json()) as { token: string };
    assert.ok(verifier.verifyForTopic(body.token, "rooms:a:b").ok);
  });

  test("an admin-capable claim needs the admin secret, even in open mode", async () => {
    for (const channel of ["admin", "*", ["rooms:*", "admin"]]) {
      await expectError(await post(open, { channel }), 403, "admin_requires_secret");
    }
    await expectError(await post(openWithSecret, { channel: "admin" }), 403, "admin_requires_secret");
    const response = await post(openWithSecret, { channel: "admin", id: "ops" }, { authorization: `Bearer ${ADMIN_SECRET}` });
    assert.equal(response.status, 200);
    const { token } = (await response.json()) as { token: string };
    assert.ok(verifier.verifyForTopic(token, "admin").ok);
  });

  test("a wrong bearer secret is refused rather than ignored", async () => {
    await expectError(await post(openWithSecret, { channel: "system" }, { authorization: "Bearer nope" }), 401, "unauthorized");
  });
});

describe("protected mode", () => {
  test("no or wrong Authorization → 401 with a Bearer challenge", async () => {
    const missing = await post(protectedMode, { channel: "system", id: "x" });
    assert.equal(missing.headers.get("www-authenticate"), 'Bearer realm="switchboard"');
    await expectError(missing, 401, "unauthorized");
    for (const authorization of [`Bearer ${ADMIN_SECRET}x`, `Basic ${ADMIN_SECRET}`, ADMIN_SECRET, "Bearer "]) {
      await expectError(await post(protectedMode, { channel: "system" }, { authorization }), 401, "unauthorized");
    }
  });

  test("the admin secret mints tokens, admin ones included", async () => {
    for (const channel of ["system", "admin"]) {
      const response = await post(protectedMode, { channel, id: "svc" }, { authorization: `bearer ${ADMIN_SECRET}` });
      assert.equal(response.status, 200, channel);
      const { token } = (await response.json()) as { token: string };
      assert.ok(verifier.verifyForTopic(token, channel).ok);
    }
  });

  test("protected mode without a secret is a programmer error", () => {
    assert.throws(() => createTokenEndpoint({ mode: "protected", allowedOrigins: [], logger: pino({ level: "silent" }), issue: () => "" }));
  });
});

describe("off mode", () => {
  test("every method gets 404", async () => {
    await expectError(await post(off, { channel: "system" }), 404, "not_found");
    const preflight = await fetch(off.url, { method: "OPTIONS", headers: { origin: ALLOWED_ORIGIN }, signal: AbortSignal.timeout(TIMEOUT_MS) });
    assert.equal(preflight.headers.get("access-control-allow-origin"), null);
    await expectError(preflight, 404, "not_found");
  });
});

describe("bad requests", () => {
  test("not JSON → 400 invalid_json", async () => {
    await expectError(await post(open, "{channel: system"), 400, "invalid_json");
    await expectError(await post(open, "channel=system&id=a", { "content-type": "application/x-www-form-urlencoded" }), 400, "invalid_json");
    await expectError(await post(open, ""), 400, "invalid_json");
  });

  test("missing or wrong-typed fields → 400 invalid_request naming the field", async () => {
    const cases: Array<[unknown, RegExp]> = [
      [[], /JSON object/],
      ["null", /JSON object/],
      [{ id: "a" }, /^channel is missing/],
      [{ channel: 5 }, /^channel must be/],
      [{ channel: "" }, /^channel must be/],
      [{ channel: [] }, /^channel must be/],
      [{ channel: "rooms:*:x" }, /^channel must be/],
      [{ channel: "x".repeat(256) }, /^channel must be/],
      [{ channel: Array.from({ length: 33 }, (_, i) => `t${i}`) }, /^channel must be/],
      [{ channel: "system", id: 7 }, /^id must be/],
      [{ channel: "system", id: "" }, /^id must be/],
    ];
    for (const [body, message] of cases) {
      const text = await expectError(await post(open, typeof body === "string" ? body : JSON.stringify(body)), 400, "invalid_request");
      assert.match(text, message, JSON.stringify(body));
    }
  });

  test("a body over 16 KiB → 413, by Content-Length before reading", async () => {
    const body = JSON.stringify({ channel: "system", id: "x".repeat(MAX_TOKEN_REQUEST_BYTES) });
    await expectError(await post(open, body), 413, "payload_too_large");
  });

  test("a streamed body (no Content-Length) is cut off at 16 KiB → 413", async () => {
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(open.url, { method: "POST", headers: { "content-type": "application/json", "transfer-encoding": "chunked" }, timeout: TIMEOUT_MS });
      req.on("response", (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (chunk: string) => (text += chunk)).on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on("timeout", () => req.destroy(new Error("timed out")));
      req.on("error", reject);
      const chunk = "x".repeat(1024);
      // Keeps writing well past the limit; the server answers as soon as the limit is crossed.
      for (let i = 0; i < 64; i++) req.write(chunk);
      req.end();
    });
    assert.equal(status, 413);
    assert.equal((JSON.parse(body) as { error: { code: string } }).error.code, "payload_too_large");
  });

  test("methods other than POST/OPTIONS → 405 with Allow", async () => {
    for (const method of ["GET", "PUT", "DELETE"]) {
      const response = await fetch(open.url, { method, signal: AbortSignal.timeout(TIMEOUT_MS) });
      assert.equal(response.headers.get("allow"), "POST, OPTIONS");
      await expectError(response, 405, "method_not_allowed");
    }
  });
});

describe("CORS", () => {
  const preflightHeaders = (origin: string) => ({
    origin,
    "access-control-request-method": "POST",
    "access-control-request-headers": "content-type",
  });

  test("an allowed origin gets a preflight answer and Access-Control-Allow-Origin", async () => {
    const preflight = await fetch(open.url, { method: "OPTIONS", headers: preflightHeaders(ALLOWED_ORIGIN), signal: AbortSignal.timeout(TIMEOUT_MS) });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get("access-control-allow-origin"), ALLOWED_ORIGIN);
    assert.match(preflight.headers.get("access-control-allow-methods") ?? "", /POST/);
    assert.match(preflight.headers.get("access-control-allow-headers") ?? "", /content-type/);
    assert.match(preflight.headers.get("vary") ?? "", /Origin/);

    const response = await post(open, { channel: "system" }, { origin: ALLOWED_ORIGIN });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("access-control-allow-origin"), ALLOWED_ORIGIN);
    const failed = await post(open, "nope", { origin: ALLOWED_ORIGIN });
    assert.equal(failed.headers.get("access-control-allow-origin"), ALLOWED_ORIGIN, "errors are readable by allowed pages too");
    await expectError(failed, 400, "invalid_json");
  });

  test("another origin gets no CORS headers: 403 on preflight and on POST", async () => {
    const evil = "https://evil.example.com";
    const preflight = await fetch(open.url, { method: "OPTIONS", headers: preflightHeaders(evil), signal: AbortSignal.timeout(TIMEOUT_MS) });
    assert.equal(preflight.headers.get("access-control-allow-origin"), null);
    await expectError(preflight, 403, "origin_not_allowed");
    const response = await post(open, { channel: "system" }, { origin: evil });
    assert.equal(response.headers.get("access-control-allow-origin"), null);
    await expectError(response, 403, "origin_not_allowed");
  });

  test("no Origin (curl, backends) works without CORS headers", async () => {
    const response = await post(open, { channel: "system" });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("access-control-allow-origin"), null);
  });
});
