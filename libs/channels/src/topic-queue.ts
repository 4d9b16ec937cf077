type Task = () => void | Promise<void>;

/**
 * Runs a socket's messages for one topic in arrival order while letting different topics
 * proceed independently: Phoenix gets the same from one process per channel. A task that
 * completes synchronously costs no promise; only async handlers make later tasks wait.
 */
export class TopicQueues {
  private readonly waiting = new Map<string, Task[]>();

  constructor(private readonly onError: (error: unknown) => void) {}

  run(topic: string, task: Task): void {
    const queue = this.waiting.get(topic);
    if (queue) {
      queue.push(task);
      return;
    }
    const pending = this.start(task);
    if (pending) {
      const next: Task[] = [];
      this.waiting.set(topic, next);
      void pending.then(() => this.drain(topic, next));
    }
  }

  private drain(topic: string, queue: Task[]): void {
    for (let task = queue.shift(); task; task = queue.shift()) {
      const pending = this.start(task);
      if (pending) {
        void pending.then(() => this.drain(topic, queue));
        return;
      }
    }
    this.waiting.delete(topic);
  }

  /** Returns a promise that never rejects when the task is async, undefined when it finished. */
  private start(task: Task): Promise<void> | undefined {
    try {
      const result = task();
      return result instanceof Promise ? result.catch(this.onError) : undefined;
    } catch (error) {
      this.onError(error);
      return undefined;
    }
  }
}
