/**
 * The `channel` claim of a token names what it may join:
 *
 * - an exact topic: `"rooms:lobby"` allows only `rooms:lobby`;
 * - a prefix pattern: `"rooms:*"` allows `rooms:a` and `rooms:a:b`, but not `rooms`, `rooms:` or
 *   `roomsX` (the colon is part of the prefix, so a claim never leaks into a sibling namespace);
 * - `"*"` alone allows every topic, `admin` included: only give it to trusted backends;
 * - a list of the above allows what any of them allows.
 *
 * tangram issues tokens with a `channel` claim but never checks it; switchboard enforces it.
 */
export type ChannelClaim = string | readonly string[];

/** Joining the `admin` channel needs a token whose claim allows it (`"admin"`, `"*"`, or a list with one). */
export const ADMIN_TOPIC = "admin";

const ANY_TOPIC = "*";
const PREFIX_SUFFIX = ":*";

export function channelAllowed(claim: ChannelClaim, topic: string): boolean {
  if (typeof claim === "string") return patternAllows(claim, topic);
  return claim.some((pattern) => patternAllows(pattern, topic));
}

/** Whether a token with this claim may join `admin` (and so see every topic's lifecycle). */
export function isAdminClaim(claim: ChannelClaim): boolean {
  return channelAllowed(claim, ADMIN_TOPIC);
}

/** Whether a string is a well-formed claim pattern: `*`, an exact topic, or `prefix:*`. */
export function isChannelPattern(pattern: string): boolean {
  if (pattern === ANY_TOPIC) return true;
  const body = pattern.endsWith(PREFIX_SUFFIX) ? pattern.slice(0, -PREFIX_SUFFIX.length) : pattern;
  return body.length > 0 && !body.includes("*") && !/\s/.test(body);
}

function patternAllows(pattern: string, topic: string): boolean {
  if (pattern === ANY_TOPIC) return true;
  if (pattern.endsWith(PREFIX_SUFFIX)) {
    const prefix = pattern.slice(0, -1);
    return prefix.length > 1 && topic.length > prefix.length && topic.startsWith(prefix);
  }
  return pattern.length > 0 && pattern === topic;
}
