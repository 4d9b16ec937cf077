import { createReadStream, statSync } from "node:fs";
import type { Stats } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join, resolve, sep } from "node:path";

/** Returns true when it answered the request; false lets the caller's 404 (or next route) run. */
export type StaticHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".ico": "image/x-icon",
  ".webp": "image/webp",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};
const FALLBACK_CONTENT_TYPE = "application/octet-stream";

// The bundle's file names carry no content hash, so browsers must revalidate every time; the
// ETag turns that into a cheap 304.
const CACHE_CONTROL = "no-cache";

/**
 * Serves the files under `root` for GET and HEAD: `/dir/` answers `dir/index.html`, `/dir`
 * redirects to `/dir/` so the page's relative URLs resolve, anything that would leave `root`
 * (`..`, encoded slashes, NUL) or does not exist falls through.
 */
export function createStaticHandler(root: string): StaticHandler {
  const base = resolve(root);
  return (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    const [rawPath = "/", query] = splitQuery(req.url ?? "/");
    const path = decodePath(rawPath);
    if (path === undefined) return false;
    const file = resolve(join(base, path));
    if (file !== base && !file.startsWith(base + sep)) return false;

    const stats = statOrUndefined(file);
    if (stats?.isDirectory()) {
      if (!rawPath.endsWith("/")) {
        res.writeHead(301, { location: `${rawPath}/${query === undefined ? "" : `?${query}`}` });
        res.end();
        return true;
      }
      const index = join(file, "index.html");
      const indexStats = statOrUndefined(index);
      if (!indexStats?.isFile()) return false;
      send(req, res, index, indexStats);
      return true;
    }
    if (!stats?.isFile()) return false;
    send(req, res, file, stats);
    return true;
  };
}

function send(req: IncomingMessage, res: ServerResponse, file: string, stats: Stats): void {
  const etag = `W/"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`;
  const headers = {
    "content-type": CONTENT_TYPES[extname(file).toLowerCase()] ?? FALLBACK_CONTENT_TYPE,
    "cache-control": CACHE_CONTROL,
    etag,
    "last-modified": stats.mtime.toUTCString(),
    "x-content-type-options": "nosniff",
  };
  if (req.headers["if-none-match"] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, "content-length": stats.size });
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  const stream = createReadStream(file);
  stream.on("error", () => res.destroy());
  stream.pipe(res);
}

function splitQuery(url: string): [string, string | undefined] {
  const at = url.indexOf("?");
  return at === -1 ? [url, undefined] : [url.slice(0, at), url.slice(at + 1)];
}

/**
 * The decoded URL path, or undefined for one no file can have (bad escapes, NUL, encoded
 * separators) and for `//host...`, which the directory redirect would turn into an open redirect.
 */
function decodePath(rawPath: string): string | undefined {
  if (!rawPath.startsWith("/") || rawPath.startsWith("//") || /%2f|%5c/i.test(rawPath)) return undefined;
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return undefined;
  }
  if (path.includes("\0") || path.includes("\\")) return undefined;
  return path;
}

function statOrUndefined(file: string): Stats | undefined {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}
