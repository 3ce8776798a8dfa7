/**
 * The group committer's queue (src/db/group-commit.ts): who shares a group, in what order, and what
 * each caller gets back when a group fails. The database side (one set-based batch for many
 * members, all-or-nothing per group) is tested with ingest in test/activity/ingest.test.ts.
 */
import { describe, expect, test } from "bun:test";
import { GroupCommit, KeyedSerializer } from "../../src/db/group-commit";

interface W {
  key: string;
  value: number;
  fail?: boolean;
}

/** A committer whose `run` records each group and fails the whole group if any write says so. */
function recorder(opts: { maxWrites?: number; maxWeight?: number } = {}) {
  const groups: number[][] = [];
  const gc = new GroupCommit<W, number>({
    run: async (ws) => {
      groups.push(ws.map((w) => w.value));
      const bad = ws.find((w) => w.fail);
      if (bad) throw new Error(`write ${bad.value} refused`);
      return ws.map((w) => w.value * 10);
    },
    key: (w) => w.key,
    weight: (w) => w.value,
    ...opts,
  });
  return { gc, groups };
}

describe("GroupCommit", () => {
  test("writes submitted together are committed in one group, each caller gets its own result", async () => {
    const { gc, groups } = recorder();
    const out = await Promise.all([1, 2, 3, 4].map((v) => gc.submit({ key: `k${v}`, value: v })));
    expect(out).toEqual([10, 20, 30, 40]);
    expect(groups).toEqual([[1, 2, 3, 4]]);
    expect(gc.stats).toMatchObject({ groups: 1, writes: 4, largest: 4, retriedOneByOne: 0 });
  });

  test("writes of one key never share a group and keep their order; others are not held back", async () => {
    const { gc, groups } = recorder();
    const out = await Promise.all([
      gc.submit({ key: "a", value: 1 }),
      gc.submit({ key: "a", value: 2 }),
      gc.submit({ key: "b", value: 3 }),
      gc.submit({ key: "a", value: 4 }),
    ]);
    expect(out).toEqual([10, 20, 30, 40]);
    expect(groups).toEqual([[1, 3], [2], [4]]);
  });

  test("writes arriving while a group commits form the next group", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const groups: number[][] = [];
    const gc = new GroupCommit<W, number>({
      run: async (ws) => {
        groups.push(ws.map((w) => w.value));
        if (groups.length === 1) await gate;
        return ws.map((w) => w.value);
      },
      key: (w) => w.key,
    });
    const first = gc.submit({ key: "a", value: 1 });
    await new Promise((r) => setImmediate(r));
    expect(groups).toEqual([[1]]); // running, held at the gate
    const later = [2, 3, 4].map((v) => gc.submit({ key: `k${v}`, value: v }));
    expect(gc.pending).toBe(4);
    release();
    expect(await Promise.all([first, ...later])).toEqual([1, 2, 3, 4]);
    expect(groups).toEqual([[1], [2, 3, 4]]);
    expect(gc.pending).toBe(0);
  });

  test("the next group is sent to the database before the finished group's callers resume", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const log: string[] = [];
    const gc = new GroupCommit<W, number>({
      run: async (ws) => {
        log.push(`run ${ws.map((w) => w.value).join(",")}`);
        if (ws[0]?.value === 1) await gate;
        return ws.map((w) => w.value);
      },
      key: (w) => w.key,
    });
    const first = gc.submit({ key: "a", value: 1 }).then((v) => log.push(`resumed ${v}`));
    await new Promise((r) => setImmediate(r));
    const later = [2, 3].map((v) =>
      gc.submit({ key: `k${v}`, value: v }).then((r) => log.push(`resumed ${r}`)),
    );
    release();
    await Promise.all([first, ...later]);
    expect(log).toEqual(["run 1", "run 2,3", "resumed 1", "resumed 2", "resumed 3"]);
  });

  test("size limits: at most maxWrites writes and maxWeight weight per group (a heavy write still goes alone)", async () => {
    const { gc, groups } = recorder({ maxWrites: 2, maxWeight: 10 });
    await Promise.all([1, 2, 3, 4, 20, 5].map((v) => gc.submit({ key: `k${v}`, value: v })));
    expect(groups).toEqual([[1, 2], [3, 4], [20], [5]]);
  });

  test("a failing group is retried one by one: the bad write gets its error, the others their results", async () => {
    const { gc, groups } = recorder();
    const settled = await Promise.allSettled([
      gc.submit({ key: "a", value: 1 }),
      gc.submit({ key: "b", value: 2, fail: true }),
      gc.submit({ key: "c", value: 3 }),
    ]);
    expect(settled[0]).toEqual({ status: "fulfilled", value: 10 });
    expect(settled[1].status).toBe("rejected");
    expect(String((settled[1] as PromiseRejectedResult).reason)).toContain("write 2 refused");
    expect(settled[2]).toEqual({ status: "fulfilled", value: 30 });
    expect(groups).toEqual([[1, 2, 3], [1], [2], [3]]);
    expect(gc.stats.retriedOneByOne).toBe(1);
  });

  test("a run that throws at once fails its group like one that rejects", async () => {
    const gc = new GroupCommit<W, number>({
      run: (ws) => {
        if (ws.some((w) => w.fail)) throw new Error("thrown");
        return Promise.resolve(ws.map((w) => w.value));
      },
      key: (w) => w.key,
    });
    const settled = await Promise.allSettled([
      gc.submit({ key: "a", value: 1 }),
      gc.submit({ key: "b", value: 2, fail: true }),
    ]);
    expect(settled[0]).toEqual({ status: "fulfilled", value: 1 });
    expect(String((settled[1] as PromiseRejectedResult).reason)).toContain("thrown");
    expect(gc.pending).toBe(0);
  });

  test("a write whose key cannot be computed is refused at submit; the others are not held up", async () => {
    const gc = new GroupCommit<W, number>({
      run: async (ws) => ws.map((w) => w.value),
      key: (w) => {
        if (w.fail) throw new Error("no key");
        return w.key;
      },
    });
    const settled = await Promise.allSettled([
      gc.submit({ key: "a", value: 1 }),
      gc.submit({ key: "b", value: 2, fail: true }),
      gc.submit({ key: "c", value: 3 }),
    ]);
    expect(settled.map((s) => (s.status === "fulfilled" ? s.value : String(s.reason)))).toEqual([
      1,
      "Error: no key",
      3,
    ]);
    expect(gc.pending).toBe(0);
  });

  test("a lone failing write is rejected without a retry", async () => {
    const { gc, groups } = recorder();
    await expect(gc.submit({ key: "a", value: 7, fail: true })).rejects.toThrow("write 7 refused");
    expect(groups).toEqual([[7]]);
    expect(gc.stats.retriedOneByOne).toBe(0);
  });
});

describe("GroupCommit with two groups committing at once (maxInFlight 2)", () => {
  /** A committer whose groups each wait for their own release; `log` says when each ran and ended. */
  function held(opts: { failValue?: number } = {}) {
    const log: string[] = [];
    const releases: (() => void)[] = [];
    const gc = new GroupCommit<W, number>({
      run: async (ws) => {
        const name = ws.map((w) => w.value).join(",");
        log.push(`run ${name}`);
        await new Promise<void>((r) => releases.push(r));
        log.push(`end ${name}`);
        if (ws.some((w) => w.value === opts.failValue) && ws.length > 1)
          throw new Error(`group ${name} refused`);
        if (ws.some((w) => w.value === opts.failValue)) throw new Error(`write ${name} refused`);
        return ws.map((w) => w.value * 10);
      },
      key: (w) => w.key,
      maxInFlight: 2,
    });
    const turn = () => new Promise((r) => setImmediate(r));
    /** Releases the oldest held group and lets its continuations run. */
    const releaseNext = async () => {
      releases.shift()?.();
      await turn();
    };
    return { gc, log, turn, releaseNext, held: () => releases.length };
  }

  test("the next group is sent while the first commits; a third waits for one of them to end", async () => {
    const { gc, log, turn, releaseNext, held: heldNow } = held();
    const first = gc.submit({ key: "a", value: 1 });
    await turn();
    const second = gc.submit({ key: "b", value: 2 });
    await turn();
    expect(log).toEqual(["run 1", "run 2"]); // both committing, neither ended
    const third = gc.submit({ key: "c", value: 3 });
    await turn();
    expect(log).toEqual(["run 1", "run 2"]); // two in flight: the third waits
    expect(gc.pending).toBe(3);
    await releaseNext();
    expect(log).toEqual(["run 1", "run 2", "end 1", "run 3"]);
    expect(await first).toBe(10);
    while (heldNow()) await releaseNext();
    expect(await Promise.all([second, third])).toEqual([20, 30]);
    expect(gc.pending).toBe(0);
  });

  test("a write whose key is in a committing group waits for that group, then commits after it", async () => {
    const { gc, log, turn, releaseNext, held: heldNow } = held();
    const a1 = gc.submit({ key: "a", value: 1 });
    await turn();
    const a2 = gc.submit({ key: "a", value: 2 });
    const b3 = gc.submit({ key: "b", value: 3 });
    await turn();
    // Room for a second group, but a2's key is committing: b3 goes alone.
    expect(log).toEqual(["run 1", "run 3"]);
    await releaseNext();
    expect(log).toEqual(["run 1", "run 3", "end 1", "run 2"]);
    while (heldNow()) await releaseNext();
    expect(await Promise.all([a1, a2, b3])).toEqual([10, 20, 30]);
  });

  test("a failing group is retried one by one while the other group commits; its keys stay held until then", async () => {
    const { gc, log, turn, releaseNext, held: heldNow } = held({ failValue: 2 });
    // Outcomes are taken as they come (a refusal left unhandled until the end would be reported).
    const outcome = (p: Promise<number>) => p.catch(() => "refused");
    const group1 = [outcome(gc.submit({ key: "a", value: 1 })), outcome(gc.submit({ key: "b", value: 2 }))];
    await turn();
    const c3 = gc.submit({ key: "c", value: 3 });
    await turn();
    expect(log).toEqual(["run 1,2", "run 3"]);
    await releaseNext(); // group 1,2 fails: its writes again, one by one
    expect(log).toEqual(["run 1,2", "run 3", "end 1,2", "run 1"]);
    const a4 = gc.submit({ key: "a", value: 4 }); // a is still held by the retry
    await turn();
    expect(log.filter((l) => l.startsWith("run"))).toEqual(["run 1,2", "run 3", "run 1"]);
    while (heldNow()) await releaseNext();
    expect(await Promise.all([...group1, c3, a4])).toEqual([10, "refused", 30, 40]);
    // a4 ran only after a's retry ended.
    expect(log.indexOf("run 4")).toBeGreaterThan(log.indexOf("end 1"));
    expect(gc.stats.retriedOneByOne).toBe(1);
    expect(gc.pending).toBe(0);
  });
});

describe("KeyedSerializer", () => {
  test("tasks of one key run one at a time in order; other keys run alongside; errors do not block the queue", async () => {
    const q = new KeyedSerializer();
    const log: string[] = [];
    const task =
      (name: string, fail = false) =>
      async () => {
        log.push(`start ${name}`);
        await new Promise((r) => setImmediate(r));
        log.push(`end ${name}`);
        if (fail) throw new Error(name);
        return name;
      };
    const results = await Promise.allSettled([
      q.run("m1", task("a1", true)),
      q.run("m1", task("a2")),
      q.run("m2", task("b1")),
    ]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "fulfilled", "fulfilled"]);
    // a2 starts only after a1 ended; b1 ran alongside a1.
    expect(log.indexOf("start a2")).toBeGreaterThan(log.indexOf("end a1"));
    expect(log.indexOf("start b1")).toBeLessThan(log.indexOf("end a1"));
    await new Promise((r) => setImmediate(r));
    expect(q.size).toBe(0);
  });
});
