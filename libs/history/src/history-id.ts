/**
 * History ids are Redis Stream ids, `<milliseconds>-<sequence>`: ordered, unique per topic, and
 * carrying the time they were written (which the age limit reads). Browser-safe.
 */
const HISTORY_ID = /^(\d{1,16})-(\d{1,16})$/;

export function isHistoryId(value: unknown): value is string {
  return typeof value === "string" && HISTORY_ID.test(value);
}

/** History order of two valid ids: whether `id` was written after `than`. */
export function isAfterHistoryId(id: string, than: string): boolean {
  const [idTime, idSequence] = id.split("-").map(Number) as [number, number];
  const [thanTime, thanSequence] = than.split("-").map(Number) as [number, number];
  return idTime > thanTime || (idTime === thanTime && idSequence > thanSequence);
}

/** Milliseconds since the epoch at which Redis wrote the entry. */
export function historyIdTime(id: string): number {
  return Number(id.slice(0, id.indexOf("-")));
}

/**
 * An id below every entry written at or after `timeMs`, as an exclusive lower bound ("after
 * this"): the sequence part is the largest a valid id carries.
 */
export function historyIdBefore(timeMs: number): string {
  return `${timeMs - 1}-9999999999999999`;
}
