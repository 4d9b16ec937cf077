export { ChannelSocket } from "./channel-socket.ts";
export { createInterception } from "./interception.ts";
export type { Interception } from "./interception.ts";
export type { ChannelLimits, ChannelSocketOptions, Wire } from "./channel-socket.ts";
export { createJoinAdmission, JOINS_PER_TURN } from "./join-admission.ts";
export type { JoinAdmission } from "./join-admission.ts";
export { createRouter, topicMatches } from "./router.ts";
export type { Router } from "./router.ts";
export { ok, error, reply, noreply } from "./handler.ts";
export type {
  Channel,
  ChannelHandler,
  ChannelPresence,
  InResult,
  JoinResult,
  PushContext,
  SocketInfo,
  TerminateReason,
} from "./handler.ts";
export type { ChannelEvents, Fanout, HistoryReader, Meta, PresenceState, PresenceTracker, RecoveredMessage } from "./ports.ts";
export { ReplyError } from "./reply-errors.ts";
