import { MigrationInterface, QueryRunner } from 'typeorm';

/** Audit chain checkpoints: where the last successful verification ended, so the next can start there (issue 6). */

export class AuditCheckpoints1795462000000 implements MigrationInterface {
  name = 'AuditCheckpoints1795462000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "audit_checkpoints" ("seq" bigint NOT NULL, "hash" character(64) NOT NULL, "verified_at" TIMESTAMP WITH TIME ZONE NOT NULL, "mode" text NOT NULL, "events_checked" bigint NOT NULL, "duration_ms" integer NOT NULL, CONSTRAINT "CHK_audit_checkpoints_mode" CHECK ("mode" IN ('full', 'incremental')), CONSTRAINT "PK_00d27c519361818fba5bb6602de" PRIMARY KEY ("seq"))`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "audit_checkpoints"`);
  }
}
