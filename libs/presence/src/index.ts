export { createPresence } from "./presence.ts";
export type { Meta, Presence, PresenceDiff, PresenceMeta, PresenceOptions, PresenceState } from "./types.ts";
