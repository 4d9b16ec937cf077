export { createHistory, FIND_APPENDED_LOOKBACK } from "./history.ts";
export type { History, HistoryEntry, HistoryOptions, Recovery } from "./history.ts";
export { historyIdBefore, historyIdTime, isAfterHistoryId, isHistoryId } from "./history-id.ts";
export { trackLastSeen } from "./client.ts";
export type { LastSeenTracker, MessageHook } from "./client.ts";
export { recordingBroadcast } from "./recording-broadcast.ts";
export type { BroadcastFunction, RecordedBroadcastOptions } from "./recording-broadcast.ts";
