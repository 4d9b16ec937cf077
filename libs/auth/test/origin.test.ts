import assert from "node:assert/strict";
import { test } from "node:test";
import { checkOrigin, normalizeOrigin } from "@switchboard/auth";

test("no Origin header (non-browser clients) is allowed", () => {
  assert.equal(checkOrigin(["https://app.example.com"])(undefined), true);
  assert.equal(checkOrigin([])(undefined), true);
});

test("listed origins are allowed, compared as scheme + host + port", () => {
  const allowed = checkOrigin(["https://app.example.com", "http://localhost:5173"]);
  assert.equal(allowed("https://app.example.com"), true);
  assert.equal(allowed("https://APP.example.com:443"), true, "case and the default port do not matter");
  assert.equal(allowed("http://localhost:5173"), true);
  assert.equal(allowed("http://app.example.com"), false, "scheme matters");
  assert.equal(allowed("https://app.example.com:8443"), false, "port matters");
  assert.equal(allowed("http://localhost:5174"), false);
  assert.equal(allowed("https://evil.example.com"), false);
  assert.equal(allowed("https://app.example.com.evil.com"), false);
});

test("the allow-list itself is normalized", () => {
  assert.equal(checkOrigin(["HTTPS://App.Example.com:443/"])("https://app.example.com"), true);
});

test('opaque and malformed origins are refused unless "*"', () => {
  const allowed = checkOrigin(["https://app.example.com"]);
  for (const origin of ["null", "", "not a url", "file://", "chrome-extension://abc"]) assert.equal(allowed(origin), false, origin);
  const any = checkOrigin(["*"]);
  for (const origin of ["null", "https://anything.example", undefined]) assert.equal(any(origin), true, String(origin));
});

test("normalizeOrigin", () => {
  assert.equal(normalizeOrigin("http://127.0.0.1:80"), "http://127.0.0.1");
  assert.equal(normalizeOrigin("https://[::1]:4000"), "https://[::1]:4000");
  assert.equal(normalizeOrigin("ws://x"), undefined);
});
