import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The initial schema: API tokens, authorization servers, clients, and the hash-chained audit log.
 * Generated from the entities, then extended by hand with what TypeORM cannot express: the GIN
 * index on tags, the trigger that makes audit_events append-only, and the chain's genesis head.
 */

export class InitialSchema1795445773144 implements MigrationInterface {
  name = 'InitialSchema1795445773144';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "api_tokens" ("id" uuid NOT NULL, "name" text NOT NULL, "role" text NOT NULL, "token_hash" character(64) NOT NULL, "created_by" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "revoked_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "CHK_api_tokens_role" CHECK ("role" IN ('viewer', 'operator', 'admin')), CONSTRAINT "PK_c587455266b5fa8dace7194caac" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_api_tokens_name" ON "api_tokens"  ("name") `);
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_api_tokens_token_hash" ON "api_tokens"  ("token_hash") `);
    await queryRunner.query(
      `CREATE TABLE "audit_events" ("seq" bigint NOT NULL, "occurred_at" TIMESTAMP WITH TIME ZONE NOT NULL, "actor" text NOT NULL, "action" text NOT NULL, "subject_type" text NOT NULL, "subject_id" text NOT NULL, "before" jsonb, "after" jsonb, "prev_hash" character(64) NOT NULL, "hash" character(64) NOT NULL, CONSTRAINT "PK_6e299f5706e715265416fefe53e" PRIMARY KEY ("seq"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_audit_events_occurred_at" ON "audit_events"  ("occurred_at") `);
    await queryRunner.query(`CREATE INDEX "IDX_audit_events_action" ON "audit_events"  ("action", "seq") `);
    await queryRunner.query(
      `CREATE INDEX "IDX_audit_events_subject" ON "audit_events"  ("subject_type", "subject_id", "seq") `,
    );
    await queryRunner.query(
      `CREATE TABLE "audit_chain_head" ("id" smallint NOT NULL, "last_seq" bigint NOT NULL, "last_hash" character(64) NOT NULL, CONSTRAINT "PK_9211408bf584034de409b1bbec5" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "authorization_servers" ("id" uuid NOT NULL, "name" text NOT NULL, "issuer" text NOT NULL, "connector_type" text NOT NULL, "jwks_cache_seconds" integer NOT NULL, "capabilities" jsonb, "capabilities_checked_at" TIMESTAMP WITH TIME ZONE, "version" integer NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "CHK_authorization_servers_jwks_cache_seconds" CHECK ("jwks_cache_seconds" >= 0), CONSTRAINT "CHK_authorization_servers_connector_type" CHECK ("connector_type" IN ('rfc7592', 'manual')), CONSTRAINT "PK_e009f5724cab7830fd8c9307e9d" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_authorization_servers_name" ON "authorization_servers"  ("name") `,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_authorization_servers_issuer" ON "authorization_servers"  ("issuer") `,
    );
    await queryRunner.query(
      `CREATE TABLE "clients" ("id" uuid NOT NULL, "authorization_server_id" uuid NOT NULL, "client_id" text NOT NULL, "auth_method" text NOT NULL, "secret_ciphertext" bytea, "secret_fingerprint" text, "secret_status" text NOT NULL, "registration_access_token_ciphertext" bytea, "registration_access_token_fingerprint" text, "registration_client_uri" text, "target_auth_method" text NOT NULL, "target_sender_constraint" text NOT NULL, "target_strategy" text NOT NULL, "owner" text, "tags" text array NOT NULL DEFAULT '{}', "phase" text NOT NULL, "state" text NOT NULL, "paused" boolean NOT NULL DEFAULT false, "state_reason" text, "next_check_at" TIMESTAMP WITH TIME ZONE, "lease_id" uuid, "lease_until" TIMESTAMP WITH TIME ZONE, "attempts" integer NOT NULL DEFAULT '0', "cutover_confirmed_at" TIMESTAMP WITH TIME ZONE, "version" integer NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "CHK_clients_secret_shredded" CHECK ("secret_status" = 'present' OR "secret_ciphertext" IS NULL), CONSTRAINT "CHK_clients_secret_status" CHECK ("secret_status" IN ('present', 'shredded')), CONSTRAINT "CHK_clients_auth_method" CHECK ("auth_method" IN ('client_secret_basic', 'client_secret_post', 'private_key_jwt')), CONSTRAINT "CHK_clients_state" CHECK ("state" IN ('pending', 'running', 'waiting', 'blocked', 'failed', 'done')), CONSTRAINT "CHK_clients_phase" CHECK ("phase" IN ('vendor_check', 'key_registration', 'parallel_auth', 'cutover', 'secret_revocation', 'sender_constraint', 'completed')), CONSTRAINT "PK_f1ab7cf3a5714dbc6bb4e1c28a4" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_clients_lease" ON "clients"  ("lease_until") WHERE "state" = 'running'`);
    await queryRunner.query(
      `CREATE INDEX "IDX_clients_due" ON "clients"  ("next_check_at") WHERE "next_check_at" IS NOT NULL AND "paused" = false`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_clients_server" ON "clients"  ("authorization_server_id", "id") `);
    await queryRunner.query(`CREATE INDEX "IDX_clients_phase_state" ON "clients"  ("phase", "state", "id") `);
    await queryRunner.query(`CREATE INDEX "IDX_clients_owner_phase" ON "clients"  ("owner", "phase", "id") `);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_clients_server_client_id" ON "clients"  ("authorization_server_id", "client_id") `,
    );
    await queryRunner.query(
      `ALTER TABLE "clients" ADD CONSTRAINT "FK_clients_authorization_server" FOREIGN KEY ("authorization_server_id") REFERENCES "authorization_servers"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    // Tag filters (`?tag=`) use array containment, which needs GIN.
    await queryRunner.query(`CREATE INDEX "IDX_clients_tags" ON "clients" USING GIN ("tags")`);
    // The audit log is append-only: UPDATE, DELETE and TRUNCATE are refused at the database.
    await queryRunner.query(`CREATE FUNCTION "audit_events_refuse_change"() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP; END $$`);
    await queryRunner.query(`CREATE TRIGGER "TRG_audit_events_append_only" BEFORE UPDATE OR DELETE ON "audit_events"
            FOR EACH ROW EXECUTE FUNCTION "audit_events_refuse_change"()`);
    await queryRunner.query(`CREATE TRIGGER "TRG_audit_events_no_truncate" BEFORE TRUNCATE ON "audit_events"
            FOR EACH STATEMENT EXECUTE FUNCTION "audit_events_refuse_change"()`);
    // The chain's genesis: no events yet, previous hash all zeros.
    await queryRunner.query(
      `INSERT INTO "audit_chain_head" ("id", "last_seq", "last_hash") VALUES (1, 0, repeat('0', 64))`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER "TRG_audit_events_no_truncate" ON "audit_events"`);
    await queryRunner.query(`DROP TRIGGER "TRG_audit_events_append_only" ON "audit_events"`);
    await queryRunner.query(`DROP FUNCTION "audit_events_refuse_change"()`);
    await queryRunner.query(`DROP INDEX "public"."IDX_clients_tags"`);
    await queryRunner.query(`ALTER TABLE "clients" DROP CONSTRAINT "FK_clients_authorization_server"`);
    await queryRunner.query(`DROP INDEX "public"."UQ_clients_server_client_id"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_clients_owner_phase"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_clients_phase_state"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_clients_server"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_clients_due"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_clients_lease"`);
    await queryRunner.query(`DROP TABLE "clients"`);
    await queryRunner.query(`DROP INDEX "public"."UQ_authorization_servers_issuer"`);
    await queryRunner.query(`DROP INDEX "public"."UQ_authorization_servers_name"`);
    await queryRunner.query(`DROP TABLE "authorization_servers"`);
    await queryRunner.query(`DROP TABLE "audit_chain_head"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_audit_events_subject"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_audit_events_action"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_audit_events_occurred_at"`);
    await queryRunner.query(`DROP TABLE "audit_events"`);
    await queryRunner.query(`DROP INDEX "public"."UQ_api_tokens_token_hash"`);
    await queryRunner.query(`DROP INDEX "public"."UQ_api_tokens_name"`);
    await queryRunner.query(`DROP TABLE "api_tokens"`);
  }
}
