/**
 * Calls that must not overlap per key (one volume's chain mutations, one RBD image's librbd questions) while
 * calls on other keys run freely. A key's entry goes once its last call settles, so the map holds only keys
 * with work under way.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `fn` after every earlier call with the same key has settled (whether it succeeded or failed). */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const next = (this.tails.get(key) ?? Promise.resolve()).then(fn, fn);
    const settled = next.then(
      () => {},
      () => {},
    );
    this.tails.set(key, settled);
    void settled.then(() => {
      if (this.tails.get(key) === settled) this.tails.delete(key);
    });
    return next;
  }
}
