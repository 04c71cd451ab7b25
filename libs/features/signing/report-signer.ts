import { KeyObject } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Clock, newId } from '@keyshift/common';
import { EnvelopeCipher } from '@keyshift/crypto';
import { Transactions, uniqueViolation } from '@keyshift/database';
import { CompactSign, JWK } from 'jose';
import { AuditLog } from '../audit/audit-log.service';
import { KeyAlgorithm } from '../keys/key-algorithms';
import { KeyGenerator } from '../keys/key-generator';
import { privateKeyObjectOf } from '../keys/key-vault';
import { SigningKeyState } from './signing-key.entity';
import { NewSigningKey, SigningKeysRepository } from './signing-keys.repository';

/** The JOSE header's `typ` of an evidence pack, so it cannot be mistaken for a token (RFC 8725 §3.11). */
export const EVIDENCE_TYP = 'keyshift-evidence+jws';

interface ActiveKey {
  kid: string;
  alg: string;
  key: KeyObject;
}

const context = (id: string) => `signing_key:${id}`;

/**
 * How long a process keeps using the active key it loaded: after a rotation elsewhere, every
 * process signs with the new key within this time. What it signed meanwhile still verifies, since
 * retired keys stay published.
 */
const ACTIVE_KEY_TTL_MS = 60_000;

/**
 * Keyshift's own report-signing key: made on first use (ES256), its private half sealed like a
 * client secret, its public half published at /.well-known/jwks.json with every retired one, so a
 * pack signed years ago still verifies. Evidence packs are compact JWS (RFC 7515) that any JOSE
 * library checks against that JWKS.
 */
@Injectable()
export class ReportSigner {
  private active: { key: Promise<ActiveKey>; loadedAt: number } | null = null;

  constructor(
    private readonly signingKeys: SigningKeysRepository,
    private readonly transactions: Transactions,
    private readonly cipher: EnvelopeCipher,
    private readonly keys: KeyGenerator,
    private readonly clock: Clock,
    private readonly audit: AuditLog,
  ) {}

  /** Signs `payload` (canonical enough: JSON.stringify of plain data) as a compact JWS. */
  async sign(payload: object): Promise<{ jws: string; kid: string }> {
    const { kid, alg, key } = await this.activeKey();
    const jws = await new CompactSign(Buffer.from(JSON.stringify(payload), 'utf8'))
      .setProtectedHeader({ alg, kid, typ: EVIDENCE_TYP })
      .sign(key);
    return { jws, kid };
  }

  /** Every signing key's public JWK, active first: what /.well-known/jwks.json serves. */
  async publicJwks(): Promise<{ keys: Record<string, string>[] }> {
    await this.activeKey(); // a fresh install publishes a key before it signs anything
    return { keys: await this.signingKeys.publicJwks() };
  }

  /**
   * Makes a new active key and retires the old one in one transaction: the old public key stays
   * published (packs it signed keep verifying), its sealed private key is destroyed.
   */
  async rotate(actor: string): Promise<{ kid: string; retiredKid: string | null }> {
    const next = await this.newKeyRow();
    const retired = await this.transactions.run(async (m) => {
      // Serialises rotations: a second one waits here, then retires the key the first one made.
      await this.signingKeys.lockActive(m);
      const oldKid = await this.signingKeys.retireActive(m, this.clock.now());
      await this.signingKeys.insert(next, m);
      await this.audit.append(m, [
        {
          actor,
          action: 'signing_key.rotated',
          subjectType: 'signing_key',
          subjectId: next.kid,
          after: { kid: next.kid, retiredKid: oldKid },
        },
      ]);
      return oldKid;
    });
    this.active = null;
    return { kid: next.kid, retiredKid: retired };
  }

  private activeKey(): Promise<ActiveKey> {
    if (this.active && this.clock.now().getTime() - this.active.loadedAt < ACTIVE_KEY_TTL_MS) return this.active.key;
    // A failed load is retried on the next call rather than cached.
    const key = this.loadOrCreate().catch((error: unknown) => {
      this.active = null;
      throw error;
    });
    this.active = { key, loadedAt: this.clock.now().getTime() };
    return key;
  }

  private async loadOrCreate(): Promise<ActiveKey> {
    const existing = await this.load();
    if (existing) return existing;
    try {
      await this.signingKeys.insert(await this.newKeyRow());
    } catch (error) {
      // Another process made the first key at the same moment: use that one.
      if (uniqueViolation(error) !== 'UQ_signing_keys_one_active') throw error;
    }
    const created = await this.load();
    if (!created) throw new Error('no active signing key after creating one');
    return created;
  }

  /** A fresh active ES256 key, its private half sealed to its row id. */
  private async newKeyRow(): Promise<NewSigningKey> {
    const id = newId();
    const generated = await this.keys.generate({ alg: KeyAlgorithm.ES256 });
    return {
      id,
      kid: generated.kid,
      alg: KeyAlgorithm.ES256,
      publicJwk: generated.publicJwk as Record<string, string>,
      sealedPrivateKey: this.cipher.encrypt(JSON.stringify(generated.privateJwk), context(id)),
      state: SigningKeyState.Active,
      createdAt: this.clock.now(),
    };
  }

  private async load(): Promise<ActiveKey | null> {
    const row = await this.signingKeys.active();
    if (!row) return null;
    const jwk = JSON.parse(this.cipher.decrypt(row.private_key_ciphertext, context(row.id)).toString('utf8')) as JWK;
    return { kid: row.kid, alg: row.alg, key: privateKeyObjectOf(jwk) };
  }
}
