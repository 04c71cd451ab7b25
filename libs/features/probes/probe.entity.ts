import { sqlInList } from '@keyshift/common';
import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { ClientEntity } from '../clients/client.entity';

/** How a token-endpoint probe ended. */
export enum ProbeOutcome {
  /** Tokens were issued (and discarded). */
  Ok = 'ok',
  /** The server refused the client (invalid_client and friends): an answer, not a fault. */
  Rejected = 'rejected',
  RateLimited = 'rate_limited',
  ServerError = 'server_error',
  /** An answer Keyshift could not use: not JSON, no access_token, an unexpected status. */
  InvalidResponse = 'invalid_response',
  Timeout = 'timeout',
  Network = 'network',
  /** Keyshift's outbound rules refused the token endpoint URL. */
  Forbidden = 'forbidden',
}

/** Outcomes that say nothing about the credential, only about the server or the path to it. */
export const TRANSIENT_OUTCOMES: ReadonlySet<ProbeOutcome> = new Set([
  ProbeOutcome.RateLimited,
  ProbeOutcome.ServerError,
  ProbeOutcome.Timeout,
  ProbeOutcome.Network,
]);

export enum ProbeMethod {
  ClientSecretBasic = 'client_secret_basic',
  ClientSecretPost = 'client_secret_post',
  PrivateKeyJwt = 'private_key_jwt',
}

/** One token request Keyshift made, as evidence. The token obtained is never stored. */
@Entity({ name: 'probes' })
@Index('IDX_probes_client', ['clientRowId', 'id'])
@Index('IDX_probes_client_method', ['clientRowId', 'method', 'createdAt'])
@Index('IDX_probes_sweep', ['sweepId'], { where: `"sweep_id" IS NOT NULL` })
@Check('CHK_probes_outcome', `"outcome" IN (${sqlInList(ProbeOutcome)})`)
@Check('CHK_probes_method', `"method" IN (${sqlInList(ProbeMethod)})`)
@Check('CHK_probes_via', `"via" IN ('token_request', 'published_jwks')`)
export class ProbeEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('uuid', { name: 'client_row_id' })
  clientRowId!: string;

  @ManyToOne(() => ClientEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'client_row_id', foreignKeyConstraintName: 'FK_probes_client' })
  client?: ClientEntity;

  @Column('uuid', { name: 'authorization_server_id' })
  authorizationServerId!: string;

  @Column('text')
  method!: ProbeMethod;

  /** Sent with a DPoP proof (RFC 9449). */
  @Column('boolean')
  dpop!: boolean;

  /** Why it was made: `api`, `sweep`, or the phase whose gate needed it. */
  @Column('text')
  purpose!: string;

  @Column('uuid', { name: 'sweep_id', nullable: true })
  sweepId!: string | null;

  @Column('integer')
  attempt!: number;

  /**
   * `token_request`: a real request to the token endpoint. `published_jwks`: an assertion signed
   * with the key and verified against the JWKS the server reads, where the server allows no
   * key-authenticated request yet (in place, atomic); no tokens are involved.
   */
  @Column('text', { default: 'token_request' })
  via!: 'token_request' | 'published_jwks';

  /** The client_id the request was made as (a successor's, for key probes of the successor strategy). */
  @Column('text', { name: 'client_id', nullable: true })
  clientId!: string | null;

  /** private_key_jwt: the kid of the key the assertion was signed with. */
  @Column('text', { nullable: true })
  kid!: string | null;

  @Column('text')
  outcome!: ProbeOutcome;

  /** The OAuth `error` code of a refusal (invalid_client, ...). */
  @Column('text', { name: 'error_code', nullable: true })
  errorCode!: string | null;

  @Column('integer', { name: 'http_status', nullable: true })
  httpStatus!: number | null;

  @Column('integer', { name: 'latency_ms', nullable: true })
  latencyMs!: number | null;

  @Column('text', { name: 'token_type', nullable: true })
  tokenType!: string | null;

  /** For DPoP probes: did the server issue a DPoP-bound token (token_type DPoP)? */
  @Column('boolean', { name: 'token_bound', nullable: true })
  tokenBound!: boolean | null;

  @Column('integer', { name: 'retry_after_seconds', nullable: true })
  retryAfterSeconds!: number | null;

  /** Human-readable detail (error_description, or why the answer was unusable). Never a secret. */
  @Column('text', { nullable: true })
  detail!: string | null;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;
}
