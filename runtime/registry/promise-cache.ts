/**
 * Registry lookups by key, each made once and shared by every caller while in flight and after:
 * schema ids, schema texts and parsed types never change once registered. A lookup that fails is
 * forgotten, so the next caller tries again instead of inheriting the failure for the process's life.
 */
export class PromiseCache<K, V> {
  private readonly entries = new Map<K, Promise<V>>();

  get(key: K, load: () => Promise<V>): Promise<V> {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = load();
      this.entries.set(key, entry);
      entry.catch(() => this.entries.delete(key));
    }
    return entry;
  }
}
