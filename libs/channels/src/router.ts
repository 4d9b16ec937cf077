/**
 * Topic → handler routing, as Phoenix's `channel "rooms:*", RoomChannel`: a route is an exact
 * topic or a `prefix*` pattern (conventionally `prefix:*`). The longest matching pattern wins,
 * so `rooms:admin:*` can override `rooms:*`; exact topics beat every pattern. A catch-all `*`
 * serves every topic no other route claims (the bridge route uses it).
 */
export interface Router<H> {
  route(pattern: string, handler: H): this;
  match(topic: string): H | undefined;
}

export function createRouter<H>(): Router<H> {
  const exact = new Map<string, H>();
  const prefixes: Array<{ prefix: string; handler: H }> = [];
  return {
    route(pattern, handler) {
      if (pattern.endsWith("*")) {
        prefixes.push({ prefix: pattern.slice(0, -1), handler });
        prefixes.sort((a, b) => b.prefix.length - a.prefix.length);
      } else {
        exact.set(pattern, handler);
      }
      return this;
    },
    match(topic) {
      const handler = exact.get(topic);
      if (handler !== undefined) return handler;
      for (const route of prefixes) if (topic.startsWith(route.prefix)) return route.handler;
      return undefined;
    },
  };
}

/** `rooms:*` matches `rooms:a` and `rooms:a:b`; a pattern without `*` matches itself only. */
export function topicMatches(pattern: string, topic: string): boolean {
  return pattern.endsWith("*") ? topic.startsWith(pattern.slice(0, -1)) : pattern === topic;
}
