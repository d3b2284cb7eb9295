/**
 * The messages of a transfer (or graph) for `for await` readers: every message but `progress` is
 * kept, so a reader that starts late still sees everything from the beginning; readers wait for
 * new messages until the log is closed, and stop after the message `last` says ends the run.
 * Used on the event loop only.
 */
type Waiter<M> = (m: M | undefined) => void;

export class MessageLog<M extends { type: string }> {
  private readonly history: M[] = [];
  private readonly waiters = new Set<{ queue: M[]; wake?: Waiter<M> }>();
  private closed = false;

  constructor(private readonly last: (m: M) => boolean) {}

  /** Records m and hands it to every reader. */
  push(m: M): void {
    if (m.type !== 'progress') this.history.push(m);
    for (const w of this.waiters) {
      if (w.wake) {
        const wake = w.wake;
        w.wake = undefined;
        wake(m);
      } else {
        w.queue.push(m);
      }
    }
  }

  /** No message will follow: readers end once they have read what is queued. */
  close(): void {
    this.closed = true;
    for (const w of this.waiters) w.wake?.(undefined);
  }

  /** Every message so far, then each new one, until the last one (inclusive) or close(). */
  async *read(): AsyncGenerator<M> {
    const w: { queue: M[]; wake?: Waiter<M> } = { queue: [...this.history] };
    this.waiters.add(w);
    try {
      for (;;) {
        const next = w.queue.shift() ?? (this.closed ? undefined : await new Promise<M | undefined>((r) => (w.wake = r)));
        if (!next) return;
        yield next;
        if (this.last(next)) return;
      }
    } finally {
      this.waiters.delete(w);
    }
  }
}
