export type { BroadcastOptions, Cluster, ClusterEvent, ClusterOptions, ClusterStats, Member, NodeInfo } from "./api.ts";
export type { TopicCount } from "./topics.ts";
export { createCluster } from "./cluster.ts";
export { batchWritesPerTick, batchWritesPerTurn } from "./tick-writes.ts";
