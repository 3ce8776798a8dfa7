import type { Result, Router } from "hono/router";
import { RegExpRouter } from "hono/router/reg-exp-router";
import { SmartRouter } from "hono/router/smart-router";
import { TrieRouter } from "hono/router/trie-router";

/** Distinct method + path pairs remembered; past this the memory starts over (a scan of random paths). */
const MEMO_MAX = 4096;

/**
 * Hono's default router (SmartRouter: RegExpRouter, else TrieRouter; ours needs the trie, since
 * RegExpRouter refuses `/members/stats` beside `/members/:id/…`) with its answers remembered per
 * method and path. The trie walks ~300 routes and builds a result on every request (profiled at
 * ~5% of a cheap authenticated GET); the same path always gets the same result, which Hono only
 * reads. Routes are all added before the first match; adding one forgets everything remembered.
 */
export class MemoRouter<T> implements Router<T> {
  readonly name = "MemoRouter";
  readonly #inner: Router<T> = new SmartRouter<T>({ routers: [new RegExpRouter(), new TrieRouter()] });
  /** Method → path → result (no key string built per request: the path alone is hashed). */
  readonly #memo = new Map<string, Map<string, Result<T>>>();
  #size = 0;

  add(method: string, path: string, handler: T): void {
    this.#forget();
    this.#inner.add(method, path, handler);
  }

  match(method: string, path: string): Result<T> {
    const remembered = this.#memo.get(method)?.get(path);
    if (remembered) return remembered;
    const result = this.#inner.match(method, path);
    if (this.#size >= MEMO_MAX) this.#forget();
    let byPath = this.#memo.get(method);
    if (!byPath) {
      byPath = new Map();
      this.#memo.set(method, byPath);
    }
    byPath.set(path, result);
    this.#size++;
    return result;
  }

  #forget(): void {
    this.#memo.clear();
    this.#size = 0;
  }
}
