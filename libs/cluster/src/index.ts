export type { BroadcastOptions, Cluster, ClusterEvent, ClusterOptions, ClusterStats, Member, NodeInfo } from "./api.ts";
export { createCluster } from "./cluster.ts";
export { batchWritesPerTick } from "./tick-writes.ts";
