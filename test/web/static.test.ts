import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createStaticHandler } from "../../apps/gateway/src/http/static.ts";
import { httpExchange, type HttpAnswer } from "../support/http.ts";

// Raw requests: fetch() would normalise `..` and `//` away before they reach the server.
function get(port: number, path: string, headers: Record<string, string> = {}, method = "GET"): Promise<HttpAnswer> {
  return httpExchange({ host: "127.0.0.1", port, path, method, headers, timeout: 5_000 });
}

describe("static file handler", () => {
  let dir: string;
  let server: Server;
  let port: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "switchboard-static-"));
    const root = join(dir, "root");
    mkdirSync(join(root, "chat"), { recursive: true });
    mkdirSync(join(root, "empty"));
    writeFileSync(join(root, "index.html"), "<h1>home</h1>");
    writeFileSync(join(root, "chat", "index.html"), "<h1>chat</h1>");
    writeFileSync(join(root, "chat", "main.js"), "console.log('chat')");
    writeFileSync(join(root, "chat", "style.css"), "body{}");
    writeFileSync(join(root, "data.bin"), "xyz");
    writeFileSync(join(dir, "secret.txt"), "outside the root");
    const handler = createStaticHandler(root);
    server = createServer((req, res) => {
      if (handler(req, res)) return;
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("fell through");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves index.html for directories and files with their content type", async () => {
    const home = await get(port, "/");
    assert.equal(home.status, 200);
    assert.equal(home.body, "<h1>home</h1>");
    assert.equal(home.headers["content-type"], "text/html; charset=utf-8");
    const chat = await get(port, "/chat/?room=lobby");
    assert.equal(chat.body, "<h1>chat</h1>");
    const script = await get(port, "/chat/main.js");
    assert.equal(script.headers["content-type"], "text/javascript; charset=utf-8");
    assert.equal(script.headers["content-length"], String("console.log('chat')".length));
    assert.equal((await get(port, "/chat/style.css")).headers["content-type"], "text/css; charset=utf-8");
    assert.equal((await get(port, "/data.bin")).headers["content-type"], "application/octet-stream");
    assert.equal((await get(port, "/chat/%6Dain.js")).body, "console.log('chat')", "percent-escapes are decoded");
  });

  it("redirects a directory without its slash, keeping the query", async () => {
    const answer = await get(port, "/chat?room=lobby");
    assert.equal(answer.status, 301);
    assert.equal(answer.headers.location, "/chat/?room=lobby");
  });

  it("revalidates with an ETag and answers 304", async () => {
    const first = await get(port, "/chat/main.js");
    assert.equal(first.headers["cache-control"], "no-cache");
    const etag = first.headers.etag;
    assert.equal(typeof etag, "string");
    const second = await get(port, "/chat/main.js", { "if-none-match": String(etag) });
    assert.equal(second.status, 304);
    assert.equal(second.body, "");
  });

  it("answers HEAD without a body", async () => {
    const answer = await get(port, "/chat/main.js", {}, "HEAD");
    assert.equal(answer.status, 200);
    assert.equal(answer.body, "");
  });

  it("falls through for missing files, other methods and everything outside the root", async () => {
    for (const path of [
      "/missing.js",
      "/empty/",
      "/../secret.txt",
      "/chat/../../secret.txt",
      "/%2e%2e/secret.txt",
      "/..%2fsecret.txt",
      "/..%5csecret.txt",
      "/chat%00.html",
      "/%E0%A4%A",
      "//chat",
    ]) {
      const answer = await get(port, path);
      assert.equal(answer.status, 404, path);
      assert.equal(answer.body, "fell through", path);
    }
    assert.equal((await get(port, "/index.html", {}, "POST")).status, 404);
  });
});
