/** Name of the adapter's serverSideEmit request each node answers with its local topic counts. */
export const TOPICS_REQUEST = "cluster:topics";

export interface TopicCount {
  topic: string;
  members: number;
}

/** Sums per-node counts; answers that are not lists of counts (other versions) are skipped. */
export function mergeTopicCounts(perNode: unknown[]): TopicCount[] {
  const totals = new Map<string, number>();
  for (const counts of perNode) {
    if (!Array.isArray(counts)) continue;
    for (const entry of counts) {
      if (!isTopicCount(entry)) continue;
      totals.set(entry.topic, (totals.get(entry.topic) ?? 0) + entry.members);
    }
  }
  return [...totals].map(([topic, members]) => ({ topic, members })).sort((a, b) => a.topic.localeCompare(b.topic));
}

function isTopicCount(value: unknown): value is TopicCount {
  if (typeof value !== "object" || value === null) return false;
  const { topic, members } = value as Record<string, unknown>;
  return typeof topic === "string" && typeof members === "number";
}
