export type { BroadcastOptions, Cluster, ClusterOptions, ClusterStats, Member, NodeInfo } from "./api.ts";
export { createCluster } from "./cluster.ts";
