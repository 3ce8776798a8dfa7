/**
 * `f(v)` at once when `v` is a value, once it settles when it is a promise. Lets a hot path that is
 * usually answered from memory (a cached session, an in-process rate-limit window) skip the promise
 * hop an `await` would always cost, and still take the asynchronous path when it must.
 */
export function then<T, R>(v: T | Promise<T>, f: (v: T) => R | Promise<R>): R | Promise<R> {
  return v instanceof Promise ? v.then(f) : f(v);
}
