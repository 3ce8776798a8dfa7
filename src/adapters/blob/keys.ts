const SAFE_KEY = /^[A-Za-z0-9][A-Za-z0-9/_.-]{0,511}$/;

/**
 * Keys every blob store accepts: letters, digits and `/_.-`, no `..`, at most 512 characters (the
 * app makes them from ids; this keeps a bad one from ever naming a path or an object outside).
 */
export function assertBlobKey(key: string): void {
  if (!SAFE_KEY.test(key) || key.includes("..")) throw new Error(`invalid blob key: ${key}`);
}
