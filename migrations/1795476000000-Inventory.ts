import { MigrationInterface, QueryRunner } from 'typeorm';

/** Issue 14: estate discovery. One row per listing run, and what each listed client looked like. */
export class Inventory1795476000000 implements MigrationInterface {
  name = 'Inventory1795476000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "inventory_runs" (
        "id" uuid NOT NULL,
        "server_id" uuid NOT NULL,
        "status" text NOT NULL,
        "next_page" text NULL,
        "pages" integer NOT NULL,
        "clients_found" integer NOT NULL,
        "admin_calls" integer NOT NULL,
        "server_ms" integer NOT NULL,
        "attempts" integer NOT NULL,
        "generation" integer NOT NULL,
        "progress_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "error" text NULL,
        "requested_by" text NOT NULL,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "finished_at" TIMESTAMP WITH TIME ZONE NULL,
        CONSTRAINT "PK_inventory_runs" PRIMARY KEY ("id"),
        CONSTRAINT "CHK_inventory_runs_status" CHECK ("status" IN ('queued', 'running', 'done', 'failed')),
        CONSTRAINT "FK_inventory_runs_server" FOREIGN KEY ("server_id") REFERENCES "authorization_servers"("id") ON DELETE CASCADE
      )`);
    await queryRunner.query(`CREATE INDEX "IDX_inventory_runs_server" ON "inventory_runs" ("server_id", "created_at")`);
    await queryRunner.query(`
      CREATE TABLE "inventory_clients" (
        "run_id" uuid NOT NULL,
        "client_id" text NOT NULL,
        "name" text NULL,
        "auth_method" text NULL,
        "secret_count" integer NULL,
        "secret_issued_at" TIMESTAMP WITH TIME ZONE NULL,
        "secret_expires_at" TIMESTAMP WITH TIME ZONE NULL,
        "client_created_at" TIMESTAMP WITH TIME ZONE NULL,
        "key_delivery" text NULL,
        "key_count" integer NULL,
        "grant_types" text array NOT NULL,
        "vendor_built_in" boolean NOT NULL,
        CONSTRAINT "PK_inventory_clients" PRIMARY KEY ("run_id", "client_id"),
        CONSTRAINT "FK_inventory_clients_run" FOREIGN KEY ("run_id") REFERENCES "inventory_runs"("id") ON DELETE CASCADE
      )`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "inventory_clients"`);
    await queryRunner.query(`DROP TABLE "inventory_runs"`);
  }
}
