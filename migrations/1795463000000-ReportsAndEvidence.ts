import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Audit reports (issue 6): the secret's issue date (optional on import), reports produced by the worker and their chunked content, Keyshift's own
 * signing keys for evidence packs, and the secret's revocation date and evidence probe on clients
 * (back-filled from the audit log's secret_shredded events and the evidence transition just before each).
 */
export class ReportsAndEvidence1795463000000 implements MigrationInterface {
  name = 'ReportsAndEvidence1795463000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "clients" ADD "secret_issued_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "clients" ADD "secret_revoked_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "clients" ADD "secret_revocation_probe_id" uuid`);
    await queryRunner.query(
      `CREATE TABLE "reports" ("id" uuid NOT NULL, "kind" text NOT NULL, "format" text NOT NULL, "params" jsonb NOT NULL, "status" text NOT NULL, "requested_by" text NOT NULL, "error" text, "byte_size" bigint, "sha256" character(64), "attempts" integer NOT NULL DEFAULT '0', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "started_at" TIMESTAMP WITH TIME ZONE, "finished_at" TIMESTAMP WITH TIME ZONE, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "CHK_reports_status" CHECK ("status" IN ('queued', 'running', 'ready', 'failed')), CONSTRAINT "CHK_reports_format" CHECK ("format" IN ('json', 'csv', 'pdf', 'jws')), CONSTRAINT "CHK_reports_kind" CHECK ("kind" IN ('estate', 'campaign_evidence')), CONSTRAINT "PK_d9013193989303580053c0b5ef6" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_reports_expires_at" ON "reports"  ("expires_at") `);
    await queryRunner.query(`CREATE INDEX "IDX_reports_status" ON "reports"  ("status", "created_at") `);
    await queryRunner.query(
      `CREATE TABLE "report_chunks" ("report_id" uuid NOT NULL, "seq" integer NOT NULL, "data" bytea NOT NULL, CONSTRAINT "PK_65a1b7ef78aa687845f232d725e" PRIMARY KEY ("report_id", "seq"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "signing_keys" ("id" uuid NOT NULL, "kid" text NOT NULL, "alg" text NOT NULL, "public_jwk" jsonb NOT NULL, "private_key_ciphertext" bytea, "state" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "retired_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "CHK_signing_keys_state" CHECK ("state" IN ('active', 'retired')), CONSTRAINT "PK_ab7d78cf6e61dc3904133b4cd55" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_signing_keys_one_active" ON "signing_keys"  ("state") WHERE "state" = 'active'`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_signing_keys_kid" ON "signing_keys"  ("kid") `);
    await queryRunner.query(
      `ALTER TABLE "report_chunks" ADD CONSTRAINT "FK_report_chunks_report" FOREIGN KEY ("report_id") REFERENCES "reports"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    // Clients revoked before this migration: the date from the shred event, the probe from the
    // evidence transition appended just before it in the same transaction.
    await queryRunner.query(
      `UPDATE "clients" c SET "secret_revoked_at" = s.occurred_at,
         "secret_revocation_probe_id" = (e.after -> 'event' -> 'evidence' ->> 'probeId')::uuid
       FROM "audit_events" s
       LEFT JOIN "audit_events" e ON e.seq = s.seq - 1 AND e.subject_id = s.subject_id
       WHERE s.action = 'client.secret_shredded' AND s.subject_type = 'client' AND s.subject_id = c.id::text`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "report_chunks" DROP CONSTRAINT "FK_report_chunks_report"`);
    await queryRunner.query(`DROP INDEX "public"."UQ_signing_keys_kid"`);
    await queryRunner.query(`DROP INDEX "public"."UQ_signing_keys_one_active"`);
    await queryRunner.query(`DROP TABLE "signing_keys"`);
    await queryRunner.query(`DROP TABLE "report_chunks"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_reports_status"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_reports_expires_at"`);
    await queryRunner.query(`DROP TABLE "reports"`);
    await queryRunner.query(`ALTER TABLE "clients" DROP COLUMN "secret_revocation_probe_id"`);
    await queryRunner.query(`ALTER TABLE "clients" DROP COLUMN "secret_revoked_at"`);
    await queryRunner.query(`ALTER TABLE "clients" DROP COLUMN "secret_issued_at"`);
  }
}
