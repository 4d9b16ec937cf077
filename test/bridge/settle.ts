/**
 * Waits for every start, even after one failed, so `after()` can stop the processes that did
 * start (a leaked child keeps the test process alive), then rethrows the first failure.
 */
export async function allStarted(starts: Array<Promise<unknown>>): Promise<void> {
  const results = await Promise.allSettled(starts);
  const failed = results.find((result): result is PromiseRejectedResult => result.status === "rejected");
  if (failed) throw failed.reason;
}
