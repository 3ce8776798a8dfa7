/**
 * Group commit: writes submitted while the database is busy are committed together, in one batch.
 *
 * Each write's own statements stay atomic (a batch is one transaction), and a write joins a group
 * only with writes whose `key` differs (for ingest: other members), so the writes of one group are
 * independent and the group's result is the same as committing them one after the other. What a
 * group saves is per-commit work: one BEGIN/COMMIT and one set of WAL page writes instead of one per
 * request, and — when `run` is set-based — one statement per table instead of one per write.
 *
 * Scheduling: the first write of an idle committer schedules a flush after the current I/O turn
 * (`setImmediate`), so every request read from the sockets in that turn joins; writes submitted
 * while a group commits wait for it and form the next group. A lone write therefore waits one
 * event-loop turn, not a timer. With `maxInFlight` above 1 (a database that queues batches and
 * commits them in the order sent, like the write thread), up to that many groups are committing at
 * once: the next group is sent while the previous one commits, so the database starts it without
 * waiting for this side to take the previous answer. A write whose key is in a committing group
 * waits for that group (its outcome may decide the write), so a key's writes still commit in order.
 *
 * Failures: when a group of several fails (a guard found one write's state moved, a constraint, …),
 * nothing of it was stored, and its writes are run again one by one, each getting its own result or
 * error — so one bad write never fails another, and a guard failure names the write it belongs to.
 *
 * Why by hand: SQLite and libSQL have no group commit of their own, and no library offers one over
 * drizzle's `batch`; this is a small queue around it.
 */

export interface GroupCommitOptions<W, R> {
  /** Commits the writes (distinct keys) in one batch; results in order. Throws if nothing was stored. */
  run(writes: W[]): Promise<R[]>;
  /** Writes with the same key never share a group (the later one waits for the next). */
  key(write: W): string;
  /** Size of a write (e.g. its rows); a group stops growing at `maxWeight`. */
  weight?(write: W): number;
  maxWrites?: number;
  maxWeight?: number;
  /** Groups committing at once (default 1); writes of a key in a committing group wait for it. */
  maxInFlight?: number;
}

interface Pending<W, R> {
  write: W;
  /** The write's key and weight, asked once when it is submitted (a throw there rejects the submit). */
  key: string;
  weight: number;
  resolve(result: R): void;
  reject(err: unknown): void;
}

export interface GroupCommitStats {
  groups: number;
  writes: number;
  largest: number;
  retriedOneByOne: number;
}

/** Runs `fn` soon, after pending I/O: setImmediate, else a 0 ms timer. */
const schedule = (fn: () => void) => {
  const immediate = (globalThis as { setImmediate?: (f: () => void) => unknown }).setImmediate;
  if (immediate) immediate(fn);
  else setTimeout(fn, 0);
};

export class GroupCommit<W, R> {
  private queue: Pending<W, R>[] = [];
  private scheduled = false;
  private inFlight = 0;
  /** Keys of the writes in committing groups. */
  private readonly busy = new Set<string>();
  private readonly maxWrites: number;
  private readonly maxWeight: number;
  private readonly maxInFlight: number;
  readonly stats: GroupCommitStats = { groups: 0, writes: 0, largest: 0, retriedOneByOne: 0 };

  constructor(private readonly opts: GroupCommitOptions<W, R>) {
    this.maxWrites = opts.maxWrites ?? 256;
    this.maxWeight = opts.maxWeight ?? 10_000;
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 1);
  }

  /** Commits `write` with whatever else is waiting; resolves with its own result or rejects with its own error. */
  submit(write: W): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const key = this.opts.key(write);
      const weight = this.opts.weight?.(write) ?? 1;
      this.queue.push({ write, key, weight, resolve, reject });
      this.kick();
    });
  }

  /** Writes waiting, plus groups committing (tests, shutdown). */
  get pending(): number {
    return this.queue.length + this.inFlight;
  }

  private kick(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight || this.queue.length === 0) return;
    this.scheduled = true;
    schedule(() => {
      this.scheduled = false;
      this.start();
    });
  }

  /** Takes the next group off the queue: in order, skipping writes whose key is already in it or committing. */
  private take(): Pending<W, R>[] {
    const group: Pending<W, R>[] = [];
    const keys = new Set<string>();
    const rest: Pending<W, R>[] = [];
    let weight = 0;
    for (const p of this.queue) {
      const { key, weight: w } = p;
      const fits = group.length === 0 || (group.length < this.maxWrites && weight + w <= this.maxWeight);
      if (fits && !keys.has(key) && !this.busy.has(key)) {
        group.push(p);
        keys.add(key);
        weight += w;
      } else rest.push(p);
    }
    this.queue = rest;
    return group;
  }

  /** Starts committing the next group, if there is room and a write that may go. */
  private start(): void {
    if (this.inFlight >= this.maxInFlight || this.queue.length === 0) return;
    const group = this.take();
    if (group.length === 0) return;
    for (const p of group) this.busy.add(p.key);
    this.inFlight++;
    this.stats.groups++;
    this.stats.writes += group.length;
    this.stats.largest = Math.max(this.stats.largest, group.length);
    let running: Promise<R[]>;
    try {
      running = this.opts.run(group.map((p) => p.write));
    } catch (err) {
      running = Promise.reject(err); // a `run` that throws at once fails its group like one that rejects
    }
    void running.then(
      (results) => this.finish(group, results),
      async (error: unknown) => {
        await this.failed(group, error); // each write gets its own outcome
        this.finish(group, null);
      },
    );
    if (this.inFlight < this.maxInFlight) this.kick();
  }

  /** A group is done: its keys free, the next group started, then its callers resumed (`results` unless it failed). */
  private finish(group: Pending<W, R>[], results: R[] | null): void {
    for (const p of group) this.busy.delete(p.key);
    this.inFlight--;
    // The next group goes to the database before this one's callers resume: their continuations
    // (responses, the next requests they let in) then overlap its commit instead of delaying it.
    this.start();
    if (results) for (const [i, p] of group.entries()) p.resolve(results[i] as R);
    this.kick();
  }

  /** A group failed, so nothing of it was stored: each write again on its own, with its own outcome. */
  private async failed(group: Pending<W, R>[], error: unknown): Promise<void> {
    if (group.length === 1) {
      group[0]?.reject(error);
      return;
    }
    this.stats.retriedOneByOne++;
    for (const p of group) {
      try {
        const [result] = await this.opts.run([p.write]);
        p.resolve(result as R);
      } catch (err) {
        p.reject(err);
      }
    }
  }
}

/**
 * Runs tasks of the same key one after another (in submission order) and tasks of different keys
 * freely. Ingest serializes a member's read-plan-commit with it: with group commit, concurrent
 * ingests of one member would otherwise all plan on the same state and all but one be refused.
 */
export class KeyedSerializer {
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key);
    const result = before ? before.then(task) : task();
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Keys with a task queued or running (tests). */
  get size(): number {
    return this.tails.size;
  }
}
