/**
 * Where the browser client keeps its sealed records: named stores of byte values under string keys.
 *
 * Two implementations: `MemoryStorage` (tests, and a session that keeps nothing) and
 * `IndexedDBStorage` (the browser). Values are stored as given: every caller seals its values
 * first (keystore.ts, history.ts), so nothing written here is readable without the passphrase.
 */

/** Named stores of byte values under string keys; `keys` lists a store's keys in ascending order. */
export interface Storage {
  get(store: string, key: string): Promise<Uint8Array | undefined>;
  put(store: string, key: string, value: Uint8Array): Promise<void>;
  delete(store: string, key: string): Promise<void>;
  keys(store: string): Promise<string[]>;
}

/** Storage in memory (lost with the page). */
export class MemoryStorage implements Storage {
  private readonly stores = new Map<string, Map<string, Uint8Array>>();

  private store(name: string): Map<string, Uint8Array> {
    let s = this.stores.get(name);
    if (s === undefined) this.stores.set(name, (s = new Map()));
    return s;
  }

  async get(store: string, key: string): Promise<Uint8Array | undefined> {
    const v = this.store(store).get(key);
    return v === undefined ? undefined : v.slice();
  }

  async put(store: string, key: string, value: Uint8Array): Promise<void> {
    this.store(store).set(key, value.slice());
  }

  async delete(store: string, key: string): Promise<void> {
    this.store(store).delete(key);
  }

  async keys(store: string): Promise<string[]> {
    return [...this.store(store).keys()].sort();
  }

  /** Every value held, for tests that search storage for secrets. */
  everything(): Uint8Array[] {
    return [...this.stores.values()].flatMap((s) => [...s.values()]);
  }
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error("IndexedDB request failed"));
  });
}

/**
 * Storage in one IndexedDB database whose object stores are fixed when it is opened (`stores`).
 * Each call is its own transaction. Tested in Chromium (IndexedDB is not part of Node).
 */
export class IndexedDBStorage implements Storage {
  private constructor(private readonly db: IDBDatabase) {}

  static async open(name: string, stores: readonly string[], version = 1): Promise<IndexedDBStorage> {
    const r = indexedDB.open(name, version);
    r.onupgradeneeded = () => {
      for (const s of stores) if (!r.result.objectStoreNames.contains(s)) r.result.createObjectStore(s);
    };
    return new IndexedDBStorage(await request(r));
  }

  /** One request in its own transaction; a write resolves only once its transaction has committed. */
  private run<T>(store: string, mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
    const tx = this.db.transaction(store, mode);
    const done = new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = tx.onabort = () => reject(tx.error ?? new Error("IndexedDB transaction failed"));
    });
    const result = request(f(tx.objectStore(store)));
    // Whichever of the two is not awaited must not become an unhandled rejection.
    if (mode === "readwrite") {
      result.catch(() => undefined);
      return done.then(() => result);
    }
    done.catch(() => undefined);
    return result;
  }

  async get(store: string, key: string): Promise<Uint8Array | undefined> {
    const v: unknown = await this.run(store, "readonly", (s) => s.get(key));
    return v instanceof Uint8Array ? v : v instanceof ArrayBuffer ? new Uint8Array(v) : undefined;
  }

  async put(store: string, key: string, value: Uint8Array): Promise<void> {
    await this.run(store, "readwrite", (s) => s.put(value, key));
  }

  async delete(store: string, key: string): Promise<void> {
    await this.run(store, "readwrite", (s) => s.delete(key));
  }

  async keys(store: string): Promise<string[]> {
    const keys = await this.run(store, "readonly", (s) => s.getAllKeys());
    return keys.map(String).sort();
  }

  close(): void {
    this.db.close();
  }
}
