/**
 * An in-memory storage adapter for node-oidc-provider without a size cap. The provider's own
 * development adapter is an LRU capped at 1,000 entries, so an estate of thousands of clients
 * (and the tokens issued to them) evicts registered clients. Entries expire with their TTL.
 * For tests and the demo only: nothing survives a restart.
 */
interface Entry {
  payload: Record<string, unknown>;
  expiresAt: number | null;
}

const stores = new Map<string, Map<string, Entry>>();
const byGrant = new Map<string, Set<string>>(); // grantId -> "model:id"
const byUid = new Map<string, string>();
const byUserCode = new Map<string, string>();

function store(model: string): Map<string, Entry> {
  let s = stores.get(model);
  if (!s) stores.set(model, (s = new Map()));
  return s;
}

function live(entry: Entry | undefined): Record<string, unknown> | undefined {
  if (!entry) return undefined;
  return entry.expiresAt !== null && entry.expiresAt < Date.now() ? undefined : entry.payload;
}

// Expired entries are dropped every minute so long demo runs do not grow without bound.
setInterval(() => {
  const now = Date.now();
  for (const s of stores.values()) for (const [id, e] of s) if (e.expiresAt !== null && e.expiresAt < now) s.delete(id);
}, 60_000).unref();

export class MemoryAdapter {
  constructor(private readonly model: string) {}

  async upsert(id: string, payload: Record<string, unknown>, expiresIn?: number): Promise<void> {
    store(this.model).set(id, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : null });
    if (typeof payload.grantId === 'string') {
      const ids = byGrant.get(payload.grantId) ?? new Set();
      ids.add(`${this.model}:${id}`);
      byGrant.set(payload.grantId, ids);
    }
    if (typeof payload.uid === 'string') byUid.set(payload.uid, id);
    if (typeof payload.userCode === 'string') byUserCode.set(payload.userCode, id);
  }

  async find(id: string): Promise<Record<string, unknown> | undefined> {
    return live(store(this.model).get(id));
  }

  async findByUid(uid: string): Promise<Record<string, unknown> | undefined> {
    const id = byUid.get(uid);
    return id ? this.find(id) : undefined;
  }

  async findByUserCode(userCode: string): Promise<Record<string, unknown> | undefined> {
    const id = byUserCode.get(userCode);
    return id ? this.find(id) : undefined;
  }

  async consume(id: string): Promise<void> {
    const entry = store(this.model).get(id);
    if (entry) entry.payload = { ...entry.payload, consumed: Math.floor(Date.now() / 1000) };
  }

  async destroy(id: string): Promise<void> {
    store(this.model).delete(id);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    for (const key of byGrant.get(grantId) ?? []) {
      const [model, id] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
      store(model).delete(id);
    }
    byGrant.delete(grantId);
  }
}
