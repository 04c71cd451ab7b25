import { MigrationInterface, QueryRunner } from 'typeorm';

/** Campaigns, and what the phase executors record on clients and probes: cutover mode, phase entry time, registration state, successor registration, pending manual change, server revert, campaign wave (issue 5). */

export class MigrationPhases1795458073249 implements MigrationInterface {
  name = 'MigrationPhases1795458073249';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "campaigns" ("id" uuid NOT NULL, "name" text NOT NULL, "selector" jsonb NOT NULL, "canary_size" integer NOT NULL, "wave_size" integer NOT NULL, "max_failure_rate" double precision NOT NULL, "server_budget_per_second" integer NOT NULL, "status" text NOT NULL, "paused_reason" text, "released_wave" integer NOT NULL, "wave_count" integer NOT NULL, "member_count" integer NOT NULL, "created_by" text NOT NULL, "version" integer NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, "finished_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "CHK_campaigns_failure_rate" CHECK ("max_failure_rate" >= 0 AND "max_failure_rate" <= 1), CONSTRAINT "CHK_campaigns_sizes" CHECK ("canary_size" >= 0 AND "wave_size" > 0 AND "server_budget_per_second" > 0), CONSTRAINT "CHK_campaigns_status" CHECK ("status" IN ('running', 'paused', 'completed')), CONSTRAINT "PK_831e3fcd4fc45b4e4c3f57a9ee4" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`ALTER TABLE "clients" ADD "target_cutover" text NOT NULL DEFAULT 'confirm'`);
    await queryRunner.query(
      `ALTER TABLE "clients" ADD "phase_entered_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()`,
    );
    await queryRunner.query(`ALTER TABLE "clients" ADD "registration_state" jsonb NOT NULL DEFAULT '{}'`);
    await queryRunner.query(`ALTER TABLE "clients" ADD "successor_client_id" text`);
    await queryRunner.query(`ALTER TABLE "clients" ADD "successor_registration_client_uri" text`);
    await queryRunner.query(`ALTER TABLE "clients" ADD "successor_registration_access_token_ciphertext" bytea`);
    await queryRunner.query(`ALTER TABLE "clients" ADD "pending_server_change" jsonb`);
    await queryRunner.query(`ALTER TABLE "clients" ADD "server_revert_to" text`);
    await queryRunner.query(`ALTER TABLE "clients" ADD "campaign_id" uuid`);
    await queryRunner.query(`ALTER TABLE "clients" ADD "campaign_wave" integer`);
    await queryRunner.query(`ALTER TABLE "probes" ADD "via" text NOT NULL DEFAULT 'token_request'`);
    await queryRunner.query(`ALTER TABLE "probes" ADD "client_id" text`);
    await queryRunner.query(
      `CREATE INDEX "IDX_clients_server_revert" ON "clients"  ("id") WHERE "server_revert_to" IS NOT NULL`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_clients_campaign" ON "clients"  ("campaign_id", "campaign_wave") WHERE "campaign_id" IS NOT NULL`,
    );
    await queryRunner.query(
      `ALTER TABLE "clients" ADD CONSTRAINT "CHK_clients_server_revert_to" CHECK ("server_revert_to" IS NULL OR "server_revert_to" IN ('vendor_check', 'key_registration', 'parallel_auth', 'cutover', 'secret_revocation', 'sender_constraint', 'completed'))`,
    );
    await queryRunner.query(
      `ALTER TABLE "clients" ADD CONSTRAINT "CHK_clients_target_cutover" CHECK ("target_cutover" IN ('confirm', 'automatic'))`,
    );
    await queryRunner.query(
      `ALTER TABLE "probes" ADD CONSTRAINT "CHK_probes_via" CHECK ("via" IN ('token_request', 'published_jwks'))`,
    );
    await queryRunner.query(
      `ALTER TABLE "clients" ADD CONSTRAINT "FK_clients_campaign" FOREIGN KEY ("campaign_id") REFERENCES "campaigns"("id") ON DELETE SET NULL ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "clients" DROP CONSTRAINT "FK_clients_campaign"`);
    await queryRunner.query(`ALTER TABLE "probes" DROP CONSTRAINT "CHK_probes_via"`);
    await queryRunner.query(`ALTER TABLE "clients" DROP CONSTRAINT "CHK_clients_target_cutover"`);
    await queryRunner.query(`ALTER TABLE "clients" DROP CONSTRAINT "CHK_clients_server_revert_to"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_clients_campaign"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_clients_server_revert"`);
    await queryRunner.query(`ALTER TABLE "probes" DROP COLUMN "client_id"`);
    await queryRunner.query(`ALTER TABLE "probes" DROP COLUMN "via"`);
    await queryRunner.query(`ALTER TABLE "clients" DROP COLUMN "campaign_wave"`);
    await queryRunner.query(`ALTER TABLE "clients" DROP COLUMN "campaign_id"`);
    await queryRunner.query(`ALTER TABLE "clients" DROP COLUMN "server_revert_to"`);
    await queryRunner.query(`ALTER TABLE "clients" DROP COLUMN "pending_server_change"`);
    await queryRunner.query(`ALTER TABLE "clients" DROP COLUMN "successor_registration_access_token_ciphertext"`);
    await queryRunner.query(`ALTER TABLE "clients" DROP COLUMN "successor_registration_client_uri"`);
    await queryRunner.query(`ALTER TABLE "clients" DROP COLUMN "successor_client_id"`);
    await queryRunner.query(`ALTER TABLE "clients" DROP COLUMN "registration_state"`);
    await queryRunner.query(`ALTER TABLE "clients" DROP COLUMN "phase_entered_at"`);
    await queryRunner.query(`ALTER TABLE "clients" DROP COLUMN "target_cutover"`);
    await queryRunner.query(`DROP TABLE "campaigns"`);
  }
}
