import { Inject, Injectable } from '@nestjs/common';
import {
  Clock,
  DomainError,
  ErrorCode,
  fieldProblems,
  unstorableTextProblems,
  VALIDATOR_OPTIONS,
} from '@keyshift/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { EnvelopeCipher } from '@keyshift/crypto';
import { Transactions, Tx } from '@keyshift/database';
import { Phase } from '@keyshift/domain';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { actorOf, Principal } from '../api-tokens/principal';
import { AuditEntry, AuditLog } from '../audit/audit-log.service';
import { registrationClientUriProblem } from '../authorization-servers/registration-client-uri';
import { ClientEntity, CutoverMode } from './client.entity';
import { auditSummary, viewFromEntity } from './client-view';
import { ClientsRepository } from './clients.repository';
import { CreateClientDto, ImportErrorMode } from './clients.dto';
import { ImportRow, rowsFromCsv, rowsFromJson } from './client-import.parser';
import { newClientEntity } from './clients.service';
import { secretContext } from './secret-context';
import { ClientImports, ImportReport, RowError } from '../ports/client-imports';

export type { ImportReport, RowError };

interface ValidRow {
  row: number;
  input: CreateClientDto;
}

/** Fields fixed once a client has left vendor_check: changing them mid-migration would strand it. */
const FIXED_AFTER_VENDOR_CHECK = ['authMethod', 'clientSecret', 'registrationAccessToken', 'target'] as const;

const UPDATABLE: (keyof ClientEntity & string)[] = [
  'authMethod',
  'secretCiphertext',
  'secretFingerprint',
  'secretIssuedAt',
  'registrationAccessTokenCiphertext',
  'registrationAccessTokenFingerprint',
  'registrationClientUri',
  'targetAuthMethod',
  'targetSenderConstraint',
  'targetStrategy',
  'targetCutover',
  'owner',
  'tags',
  'version',
  'updatedAt',
];

const keyOf = (serverId: string, clientId: string) => `${serverId}\u0000${clientId}`;

/**
 * Bulk import: idempotent upsert on (authorization server, clientId) with a per-row error report.
 * Validation happens before any write; every write of one request happens in one transaction, so
 * a client is either fully written (with its audit event) or not at all.
 */
@Injectable()
export class ClientImportService implements ClientImports {
  constructor(
    private readonly clients: ClientsRepository,
    private readonly transactions: Transactions,
    private readonly cipher: EnvelopeCipher,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    @Inject(KEYSHIFT_CONFIG) private readonly config: KeyshiftConfig,
  ) {}

  /** A request body: a string came through the text/csv parser, anything else is parsed JSON. */
  async importBody(body: unknown, mode: ImportErrorMode | undefined, by: Principal): Promise<ImportReport> {
    const maxRows = this.config.api.importMaxRows;
    const rows = typeof body === 'string' ? rowsFromCsv(body, maxRows) : rowsFromJson(body, maxRows);
    return this.import(rows, mode ?? ImportErrorMode.Reject, by);
  }

  async import(rows: ImportRow[], mode: ImportErrorMode, by: Principal): Promise<ImportReport> {
    const errors: RowError[] = [];
    const valid = this.validate(rows, errors);
    await this.checkServersExist(valid, errors);
    if (errors.length > 0 && mode === ImportErrorMode.Reject) throw rejection(errors);

    const failed = new Set(errors.map((e) => e.row));
    const report = await this.transactions.run((manager) =>
      this.write(
        manager,
        valid.filter((v) => !failed.has(v.row)),
        errors,
        mode,
        by,
      ),
    );
    return {
      ...report,
      received: rows.length,
      rejected: new Set(errors.map((e) => e.row)).size,
      errors: sortErrors(errors),
    };
  }

  private validate(rows: ImportRow[], errors: RowError[]): ValidRow[] {
    const valid: ValidRow[] = [];
    const firstRowOf = new Map<string, number>();
    for (const { row, value, parseError } of rows) {
      if (parseError) {
        errors.push({ row, ...parseError });
        continue;
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        errors.push({ row, field: '(row)', message: 'must be an object' });
        continue;
      }
      const input = plainToInstance(CreateClientDto, value);
      // Text PostgreSQL cannot store, checked per row (with onError=skip one such row must not fail
      // the rest) and after validation, so that the fields it names are ones the DTO knows.
      const problems = fieldProblems(validateSync(input, VALIDATOR_OPTIONS), '', '(row)');
      if (!problems.length) problems.push(...unstorableTextProblems(value, '(row)'));
      if (problems.length) {
        errors.push(...problems.map((p) => ({ row, ...p })));
        continue;
      }
      const key = keyOf(input.authorizationServerId, input.clientId);
      const first = firstRowOf.get(key);
      if (first !== undefined) {
        errors.push({
          row,
          field: 'clientId',
          message: `duplicates row ${first} (same authorization server and clientId)`,
        });
        continue;
      }
      firstRowOf.set(key, row);
      valid.push({ row, input });
    }
    return valid;
  }

  private async checkServersExist(valid: ValidRow[], errors: RowError[]): Promise<void> {
    const ids = [...new Set(valid.map((v) => v.input.authorizationServerId))];
    if (ids.length === 0) return;
    const found = new Map((await this.clients.registrationUriServers(ids)).map((r) => [r.id, r]));
    for (const v of valid) {
      const server = found.get(v.input.authorizationServerId);
      if (!server) {
        errors.push({ row: v.row, field: 'authorizationServerId', message: 'no authorization server has this id' });
        continue;
      }
      // Where the registration access token will be sent: only under the server's registration endpoint.
      const uriProblem = v.input.registrationClientUri
        ? registrationClientUriProblem(v.input.registrationClientUri, server)
        : null;
      if (uriProblem) errors.push({ row: v.row, field: 'registrationClientUri', message: uriProblem });
    }
  }

  private async write(
    manager: Tx,
    valid: ValidRow[],
    errors: RowError[],
    mode: ImportErrorMode,
    by: Principal,
  ): Promise<Omit<ImportReport, 'received' | 'rejected' | 'errors'>> {
    const existing = await this.lockExisting(manager, valid);
    const now = this.clock.now();
    const creates: ClientEntity[] = [];
    const updates: { before: ClientEntity; after: ClientEntity; replaced: string[] }[] = [];
    let unchanged = 0;

    for (const { row, input } of valid) {
      const current = existing.get(keyOf(input.authorizationServerId, input.clientId));
      if (!current) {
        creates.push(newClientEntity(input, this.cipher, now));
        continue;
      }
      const change = this.merge(current, input, now);
      if ('error' in change) errors.push({ row, ...change.error });
      else if (change.after) updates.push({ before: current, after: change.after, replaced: change.replaced });
      else unchanged++;
    }

    if (errors.length > 0 && mode === ImportErrorMode.Reject) throw rejection(errors);

    await this.clients.insertMany(manager, creates);
    await this.clients.updateMany(
      manager,
      updates.map((u) => u.after),
      UPDATABLE,
    );
    const actor = actorOf(by);
    const events: AuditEntry[] = [
      ...creates.map((c) => ({
        actor,
        action: 'client.imported',
        subjectType: 'client',
        subjectId: c.id,
        after: auditSummary(viewFromEntity(c)),
      })),
      ...updates.map((u) => ({
        actor,
        action: 'client.updated',
        subjectType: 'client',
        subjectId: u.after.id,
        before: auditSummary(viewFromEntity(u.before)),
        after: { ...auditSummary(viewFromEntity(u.after)), replaced: u.replaced },
      })),
    ];
    await this.audit.append(manager, events);
    return { created: creates.length, updated: updates.length, unchanged };
  }

  /** The existing clients this import touches, locked in a fixed order so concurrent imports cannot deadlock. */
  private async lockExisting(manager: Tx, valid: ValidRow[]): Promise<Map<string, ClientEntity>> {
    if (valid.length === 0) return new Map();
    const rows = await this.clients.lockByServerAndClientId(
      manager,
      valid.map((v) => ({ serverId: v.input.authorizationServerId, clientId: v.input.clientId })),
    );
    return new Map(rows.map((r) => [keyOf(r.authorizationServerId, r.clientId), r]));
  }

  /**
   * What an import row changes on an existing client. Omitted optional fields keep their value;
   * secrets are compared by keyed fingerprint, never decrypted.
   */
  private merge(
    current: ClientEntity,
    input: CreateClientDto,
    now: Date,
  ): { error: { field: string; message: string } } | { after: ClientEntity | null; replaced: string[] } {
    const secretChanged = this.cipher.fingerprint(input.clientSecret) !== current.secretFingerprint;
    const tokenChanged =
      input.registrationAccessToken !== undefined &&
      this.cipher.fingerprint(input.registrationAccessToken) !== current.registrationAccessTokenFingerprint;
    const fixedChanges: Record<(typeof FIXED_AFTER_VENDOR_CHECK)[number], boolean> = {
      authMethod: input.authMethod !== current.authMethod,
      clientSecret: secretChanged,
      registrationAccessToken: tokenChanged,
      target:
        input.target.authMethod !== current.targetAuthMethod ||
        input.target.senderConstraint !== current.targetSenderConstraint ||
        input.target.strategy !== current.targetStrategy ||
        (input.target.cutover ?? CutoverMode.Confirm) !== current.targetCutover,
    };
    const changedFixed = FIXED_AFTER_VENDOR_CHECK.filter((f) => fixedChanges[f]);
    if (changedFixed.length && current.phase !== Phase.VendorCheck) {
      return {
        error: {
          field: changedFixed[0],
          message: `cannot change once the client has left vendor_check (it is in ${current.phase})`,
        },
      };
    }

    const after: ClientEntity = {
      ...current,
      authMethod: input.authMethod,
      targetAuthMethod: input.target.authMethod,
      targetSenderConstraint: input.target.senderConstraint,
      targetStrategy: input.target.strategy,
      targetCutover: input.target.cutover ?? CutoverMode.Confirm,
      owner: input.owner === undefined ? current.owner : input.owner,
      tags: input.tags ?? current.tags,
      registrationClientUri: input.registrationClientUri ?? current.registrationClientUri,
    };
    // A new secret is as old as the date given with it, else as this import; the same secret may have its date set.
    if (secretChanged || input.secretIssuedAt !== undefined) after.secretIssuedAt = input.secretIssuedAt ?? now;
    const replaced: string[] = [];
    if (secretChanged) {
      after.secretCiphertext = this.cipher.encrypt(input.clientSecret, secretContext.clientSecret(current.id));
      after.secretFingerprint = this.cipher.fingerprint(input.clientSecret);
      replaced.push('clientSecret');
    }
    if (tokenChanged) {
      after.registrationAccessTokenCiphertext = this.cipher.encrypt(
        input.registrationAccessToken!,
        secretContext.registrationAccessToken(current.id),
      );
      after.registrationAccessTokenFingerprint = this.cipher.fingerprint(input.registrationAccessToken!);
      replaced.push('registrationAccessToken');
    }
    const metadataChanged =
      after.authMethod !== current.authMethod ||
      fixedChanges.target ||
      after.owner !== current.owner ||
      after.registrationClientUri !== current.registrationClientUri ||
      after.secretIssuedAt?.getTime() !== current.secretIssuedAt?.getTime() ||
      after.tags.length !== current.tags.length ||
      after.tags.some((t, i) => t !== current.tags[i]);
    if (!metadataChanged && replaced.length === 0) return { after: null, replaced };
    return { after: { ...after, version: current.version + 1, updatedAt: now }, replaced };
  }
}

function rejection(errors: RowError[]): DomainError {
  const rows = new Set(errors.map((e) => e.row)).size;
  return new DomainError(
    ErrorCode.ImportRejected,
    `${rows} row(s) have errors; nothing was written (fix them, or send onError=skip to import the valid rows)`,
    { errors: sortErrors(errors) },
  );
}

function sortErrors(errors: RowError[]): RowError[] {
  return [...errors].sort((a, b) => a.row - b.row);
}
