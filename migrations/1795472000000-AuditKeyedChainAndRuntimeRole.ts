import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 12, the audit chain: keyed hashes start after the current head (`keyed_from`, set by the
 * first append), the head and checkpoints carry seals, full verifications leave their outcome in
 * `audit_verify_runs`; and the runtime's role.
 *
 * The runtime connects as a role that can only do what it needs: DML on Keyshift's tables, but
 * INSERT and SELECT only on the audit tables (and UPDATE on the one head row), no DDL, not the
 * owner. Grants go to the NOLOGIN group role `keyshift_runtime`, created here if missing; the login
 * role in DATABASE_URL is made a member of it (README). Migrations run as the owner
 * (KEYSHIFT_MIGRATION_DATABASE_URL), whose default privileges extend the grants to tables later
 * migrations create; a later audit table must revoke what it must not allow.
 */
export class AuditKeyedChainAndRuntimeRole1795472000000 implements MigrationInterface {
  name = 'AuditKeyedChainAndRuntimeRole1795472000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "audit_verify_runs" ("id" uuid NOT NULL, "trigger" text NOT NULL, "started_at" TIMESTAMP WITH TIME ZONE NOT NULL, "finished_at" TIMESTAMP WITH TIME ZONE NOT NULL, "ok" boolean NOT NULL, "events_checked" bigint NOT NULL, "tip_seq" bigint NOT NULL, "break_seq" bigint, "problem" text, "message" text, "seal" character(64) NOT NULL, CONSTRAINT "CHK_audit_verify_runs_trigger" CHECK ("trigger" IN ('request', 'schedule')), CONSTRAINT "PK_1189badfb6d7fcb065a6d8dc22f" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_audit_verify_runs_finished_at" ON "audit_verify_runs"  ("finished_at") `,
    );
    await queryRunner.query(`ALTER TABLE "audit_checkpoints" ADD "seal" character(64)`);
    await queryRunner.query(`ALTER TABLE "audit_chain_head" ADD "keyed_from" bigint`);
    await queryRunner.query(`ALTER TABLE "audit_chain_head" ADD "seal" character(64)`);

    // Roles are cluster-wide: another database's migration may create it at the same moment.
    await queryRunner.query(`DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'keyshift_runtime') THEN
          BEGIN
            CREATE ROLE keyshift_runtime NOLOGIN;
          EXCEPTION
            WHEN duplicate_object OR unique_violation THEN NULL;
            WHEN insufficient_privilege THEN RAISE EXCEPTION
              'role keyshift_runtime is missing and % may not create it: run CREATE ROLE keyshift_runtime NOLOGIN as an administrator (see README)', current_user;
          END;
        END IF;
      END $$`);
    // No DDL for anyone but the owner (PostgreSQL 15 and later already refuse CREATE to PUBLIC).
    await queryRunner.query(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`);
    await queryRunner.query(`GRANT USAGE ON SCHEMA public TO keyshift_runtime`);
    await queryRunner.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO keyshift_runtime`);
    await queryRunner.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO keyshift_runtime`);
    await queryRunner.query(
      `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO keyshift_runtime`,
    );
    await queryRunner.query(
      `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO keyshift_runtime`,
    );
    // The audit log: append and read only; the head row is moved forward (never inserted or deleted).
    await queryRunner.query(
      `REVOKE UPDATE, DELETE, TRUNCATE ON "audit_events", "audit_checkpoints", "audit_verify_runs" FROM keyshift_runtime`,
    );
    await queryRunner.query(`REVOKE INSERT, DELETE, TRUNCATE ON "audit_chain_head" FROM keyshift_runtime`);
    // The migrations' own bookkeeping is the owner's.
    await queryRunner.query(`REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON "typeorm_migrations" FROM keyshift_runtime`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    // The role stays: it is cluster-wide and other databases may grant to it.
    await queryRunner.query(
      `ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM keyshift_runtime`,
    );
    await queryRunner.query(
      `ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT ON SEQUENCES FROM keyshift_runtime`,
    );
    await queryRunner.query(`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM keyshift_runtime`);
    await queryRunner.query(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM keyshift_runtime`);
    await queryRunner.query(`REVOKE USAGE ON SCHEMA public FROM keyshift_runtime`);
    await queryRunner.query(`ALTER TABLE "audit_chain_head" DROP COLUMN "seal"`);
    await queryRunner.query(`ALTER TABLE "audit_chain_head" DROP COLUMN "keyed_from"`);
    await queryRunner.query(`ALTER TABLE "audit_checkpoints" DROP COLUMN "seal"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_audit_verify_runs_finished_at"`);
    await queryRunner.query(`DROP TABLE "audit_verify_runs"`);
  }
}
