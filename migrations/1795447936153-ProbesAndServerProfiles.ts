import { MigrationInterface, QueryRunner } from 'typeorm';

/** Probe evidence, and each server's assertion profile and probe limits (issue 3). */

export class ProbesAndServerProfiles1795447936153 implements MigrationInterface {
  name = 'ProbesAndServerProfiles1795447936153';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "probes" ("id" uuid NOT NULL, "client_row_id" uuid NOT NULL, "authorization_server_id" uuid NOT NULL, "method" text NOT NULL, "dpop" boolean NOT NULL, "purpose" text NOT NULL, "sweep_id" uuid, "attempt" integer NOT NULL, "outcome" text NOT NULL, "error_code" text, "http_status" integer, "latency_ms" integer, "token_type" text, "token_bound" boolean, "retry_after_seconds" integer, "detail" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "CHK_probes_method" CHECK ("method" IN ('client_secret_basic', 'client_secret_post', 'private_key_jwt')), CONSTRAINT "CHK_probes_outcome" CHECK ("outcome" IN ('ok', 'rejected', 'rate_limited', 'server_error', 'invalid_response', 'timeout', 'network', 'forbidden')), CONSTRAINT "PK_7c839c90f8cb3aff3f99b122d0f" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_probes_sweep" ON "probes"  ("sweep_id") WHERE "sweep_id" IS NOT NULL`);
    await queryRunner.query(
      `CREATE INDEX "IDX_probes_client_method" ON "probes"  ("client_row_id", "method", "created_at") `,
    );
    await queryRunner.query(`CREATE INDEX "IDX_probes_client" ON "probes"  ("client_row_id", "id") `);
    await queryRunner.query(
      `ALTER TABLE "authorization_servers" ADD "assertion_audience" text NOT NULL DEFAULT 'issuer'`,
    );
    await queryRunner.query(
      `ALTER TABLE "authorization_servers" ADD "max_assertion_seconds" integer NOT NULL DEFAULT '60'`,
    );
    await queryRunner.query(
      `ALTER TABLE "authorization_servers" ADD "probe_rate_per_second" integer NOT NULL DEFAULT '20'`,
    );
    await queryRunner.query(`ALTER TABLE "authorization_servers" ADD "probe_concurrency" integer NOT NULL DEFAULT '8'`);
    await queryRunner.query(
      `ALTER TABLE "authorization_servers" ADD CONSTRAINT "CHK_authorization_servers_probe_limits" CHECK ("probe_rate_per_second" > 0 AND "probe_concurrency" > 0 AND "max_assertion_seconds" > 0)`,
    );
    await queryRunner.query(
      `ALTER TABLE "authorization_servers" ADD CONSTRAINT "CHK_authorization_servers_assertion_audience" CHECK ("assertion_audience" IN ('issuer', 'token_endpoint'))`,
    );
    await queryRunner.query(
      `ALTER TABLE "probes" ADD CONSTRAINT "FK_probes_client" FOREIGN KEY ("client_row_id") REFERENCES "clients"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "probes" DROP CONSTRAINT "FK_probes_client"`);
    await queryRunner.query(
      `ALTER TABLE "authorization_servers" DROP CONSTRAINT "CHK_authorization_servers_assertion_audience"`,
    );
    await queryRunner.query(
      `ALTER TABLE "authorization_servers" DROP CONSTRAINT "CHK_authorization_servers_probe_limits"`,
    );
    await queryRunner.query(`ALTER TABLE "authorization_servers" DROP COLUMN "probe_concurrency"`);
    await queryRunner.query(`ALTER TABLE "authorization_servers" DROP COLUMN "probe_rate_per_second"`);
    await queryRunner.query(`ALTER TABLE "authorization_servers" DROP COLUMN "max_assertion_seconds"`);
    await queryRunner.query(`ALTER TABLE "authorization_servers" DROP COLUMN "assertion_audience"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_probes_client"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_probes_client_method"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_probes_sweep"`);
    await queryRunner.query(`DROP TABLE "probes"`);
  }
}
