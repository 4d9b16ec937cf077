const ANY_ORIGIN = "*";

/**
 * An origin check for WebSocket upgrades, LongPoll and CORS (Phoenix's `check_origin`).
 * No Origin header means a non-browser client, which could send any header it likes, so there is
 * nothing to protect by refusing it. Origins compare as scheme + host + port, normalized the way
 * browsers send them (`https://App.example.com:443` equals `https://app.example.com`).
 * The opaque origin `null` (sandboxed frames, `file:`) is allowed only by `*`.
 */
export function checkOrigin(allowed: readonly string[]): (origin: string | undefined) => boolean {
  if (allowed.includes(ANY_ORIGIN)) return () => true;
  const origins = new Set(allowed.map(normalizeOrigin).filter((origin) => origin !== undefined));
  return (origin) => {
    if (origin === undefined) return true;
    const normalized = normalizeOrigin(origin);
    return normalized !== undefined && origins.has(normalized);
  };
}

/** `scheme://host[:port]` for an http(s) origin, or undefined when it is not one. */
export function normalizeOrigin(origin: string): string | undefined {
  let url: URL;
  try {
    url = new URL(origin.trim());
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  return url.origin;
}
