import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Clock, MicroBatcher } from '@keyshift/common';
import { Transactions, Tx } from '@keyshift/database';
import { ChainHasher, GENESIS_HASH } from './audit-chain';
import { AUDIT_KEYS, AuditKeys, headSealFields, seal, sealMatches } from './audit-keys';
import { AuditRepository, NewEventRow } from './audit.repository';

/** What a caller records; the log adds seq, time and the chain hashes. */
export interface AuditEntry {
  actor: string;
  action: string;
  subjectType: string;
  subjectId: string;
  /** Summaries without secrets: the API's view of the subject, never ciphertexts or tokens. */
  before?: object | null;
  after?: object | null;
}

/** Thrown by an append that finds the chain head altered outside Keyshift: the log refuses to extend a chain it cannot vouch for. */
export class AuditChainTamperedError extends Error {
  constructor(reason: string) {
    super(
      `the audit chain head ${reason}; appends are refused until it is investigated (GET /v1/audit/verify?mode=full)`,
    );
    this.name = 'AuditChainTamperedError';
  }
}

/** Plain JSON, exactly as jsonb will hand it back, so the hash we write is the hash we re-read. */
function toJson(value: object | null | undefined): Record<string, unknown> | null {
  return value == null ? null : (JSON.parse(JSON.stringify(value)) as Record<string, unknown>);
}

/**
 * Writes the chain: appends hashed events under the head's lock and re-seals the head, and at boot
 * brings a chain written before keyed chains under the key.
 */
@Injectable()
export class AuditAppendService implements OnApplicationBootstrap {
  /** Events with no state change beside them (secret accesses), appended many per transaction. */
  private readonly batcher = new MicroBatcher<AuditEntry>((entries) => this.record(entries));

  constructor(
    private readonly repository: AuditRepository,
    private readonly transactions: Transactions,
    private readonly clock: Clock,
    @Inject(AUDIT_KEYS) private readonly keys: AuditKeys,
  ) {}

  /**
   * Appends one event that has no state change to share a transaction with, resolving once it is
   * committed. Concurrent callers share a transaction, so a hot path (every probe's secret access)
   * costs one chain-head lock per batch, not per event.
   */
  recordSoon(entry: AuditEntry): Promise<void> {
    return this.batcher.add(entry);
  }

  /**
   * Appends events inside the caller's transaction. Locking the chain head serialises appends
   * until that transaction ends, so callers append last, just before commit.
   */
  async append(tx: Tx, entries: AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    if (!tx.queryRunner?.isTransactionActive) throw new Error('AuditLog.append needs an open transaction');
    const head = await this.lockHeadForAppend(tx);
    const hasher = new ChainHasher(this.keys.chain, head.keyedFrom);
    let seq = BigInt(head.seq);
    let prevHash = head.hash;
    const occurredAt = this.clock.now();
    const rows: NewEventRow[] = [];
    for (const entry of entries) {
      seq += 1n;
      const event = {
        seq: String(seq),
        occurredAt,
        actor: entry.actor,
        action: entry.action,
        subjectType: entry.subjectType,
        subjectId: entry.subjectId,
        before: toJson(entry.before),
        after: toJson(entry.after),
        prevHash,
      };
      const hash = hasher.hash(event);
      rows.push({ ...event, hash });
      prevHash = hash;
    }
    await this.repository.insertEvents(tx, occurredAt, rows);
    await this.writeHead(tx, { seq: String(seq), hash: prevHash, keyedFrom: head.keyedFrom });
  }

  /** Appends in a transaction of its own, for events with no state change beside them. */
  async record(entries: AuditEntry[]): Promise<void> {
    await this.transactions.run((tx) => this.append(tx, entries));
  }

  onApplicationBootstrap(): Promise<boolean> {
    return this.adoptUnsealedChain();
  }

  /**
   * Brings a chain written before keyed chains under the key, once, at boot: its events keep their
   * unkeyed hashes, the head is sealed with `keyedFrom` just past them, and an `audit.chain_keyed`
   * event, the first keyed one, links to their tip and says how many there were. Nothing happens
   * to a sealed head, nor to one that lost its seal (sealed checkpoints or outcomes exist): that is
   * tampering, which verify names, and adopting would launder it.
   */
  async adoptUnsealedChain(): Promise<boolean> {
    return this.transactions.run(async (tx) => {
      const row = await this.repository.head(tx, { forUpdate: true });
      if (row.seal !== null || row.keyed_from !== null || row.last_seq === '0') return false;
      if (await this.repository.wasSealedBefore(tx)) return false;
      const keyedFrom = String(BigInt(row.last_seq) + 1n);
      await this.writeHead(tx, { seq: row.last_seq, hash: row.last_hash, keyedFrom });
      await this.append(tx, [
        {
          actor: 'keyshift',
          action: 'audit.chain_keyed',
          subjectType: 'audit_chain',
          subjectId: 'audit_events',
          after: { unkeyedEvents: row.last_seq, keyedFrom },
        },
      ]);
      return true;
    });
  }

  private writeHead(tx: Tx, head: { seq: string; hash: string; keyedFrom: string }): Promise<void> {
    return this.repository.writeHead(tx, { ...head, seal: seal(this.keys.seal, 'audit-head', headSealFields(head)) });
  }

  /**
   * Locks the head and checks its seal before extending the chain: extending a head rewritten
   * without the key would seal the rewrite. An unsealed head is extended only when the chain is
   * new (no event, never sealed): that first append seals it. A chain written before keyed
   * chains is adopted at boot instead (adoptUnsealedChain), never by an append.
   */
  private async lockHeadForAppend(tx: Tx): Promise<{ seq: string; hash: string; keyedFrom: string }> {
    const row = await this.repository.head(tx, { forUpdate: true });
    if (row.seal === null) {
      if (row.keyed_from !== null || row.last_seq !== '0' || (await this.repository.wasSealedBefore(tx))) {
        throw new AuditChainTamperedError('is not sealed');
      }
      return { seq: '0', hash: GENESIS_HASH, keyedFrom: '1' };
    }
    const head = { seq: row.last_seq, hash: row.last_hash, keyedFrom: row.keyed_from ?? '' };
    if (!sealMatches(this.keys.seal, 'audit-head', headSealFields(head), row.seal)) {
      throw new AuditChainTamperedError('does not match its seal');
    }
    return head;
  }
}
