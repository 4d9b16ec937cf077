type Task = () => void | Promise<void>;

/** Where a task's failure goes: the socket that owns the queues (no closure per socket). */
export interface TaskFailures {
  taskFailed(error: unknown): void;
}

/**
 * Runs a socket's messages for one topic in arrival order while letting different topics
 * proceed independently: Phoenix gets the same from one process per channel. A task that
 * completes synchronously costs no promise; only async handlers make later tasks wait.
 */
export class TopicQueues {
  /** Only while some topic has an async task running: an idle socket holds no map. */
  private waiting: Map<string, Task[]> | undefined;

  constructor(private readonly failures: TaskFailures) {}

  run(topic: string, task: Task): void {
    const queue = this.waiting?.get(topic);
    if (queue) {
      queue.push(task);
      return;
    }
    const pending = this.start(task);
    if (pending) {
      const next: Task[] = [];
      (this.waiting ??= new Map()).set(topic, next);
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
    this.waiting!.delete(topic);
    if (this.waiting!.size === 0) this.waiting = undefined;
  }

  /** Returns a promise that never rejects when the task is async, undefined when it finished. */
  private start(task: Task): Promise<void> | undefined {
    try {
      const result = task();
      return result instanceof Promise ? result.catch((error: unknown) => this.failures.taskFailed(error)) : undefined;
    } catch (error) {
      this.failures.taskFailed(error);
      return undefined;
    }
  }
}
