/** Name of the adapter's serverSideEmit request each node answers with its local topic counts. */
export const TOPICS_REQUEST = "cluster:topics";

export interface TopicCount {
  topic: string;
  /** Members on every node. */
  members: number;
  /**
   * Broadcasts on the topic, presence diffs included (a counter), as seen by the node that saw the most: every node with
   * members receives each broadcast once, so the longest-serving one has seen them all. It can
   * step back when that node's members leave or it restarts; readers take a rate between
   * readings and skip a step back. Absent when no node reported one.
   */
  messages?: number;
}

/** Sums per-node member counts and keeps the largest message count; answers that are not lists of counts (other versions) are skipped. */
export function mergeTopicCounts(perNode: unknown[]): TopicCount[] {
  const totals = new Map<string, TopicCount>();
  for (const counts of perNode) {
    if (!Array.isArray(counts)) continue;
    for (const entry of counts) {
      if (!isTopicCount(entry)) continue;
      const total = totals.get(entry.topic) ?? { topic: entry.topic, members: 0 };
      total.members += entry.members;
      if (entry.messages !== undefined) total.messages = Math.max(total.messages ?? 0, entry.messages);
      totals.set(entry.topic, total);
    }
  }
  return [...totals.values()].sort((a, b) => a.topic.localeCompare(b.topic));
}

function isTopicCount(value: unknown): value is TopicCount {
  if (typeof value !== "object" || value === null) return false;
  const { topic, members, messages } = value as Record<string, unknown>;
  return typeof topic === "string" && typeof members === "number" && (messages === undefined || typeof messages === "number");
}
