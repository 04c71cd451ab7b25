import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 12: the journal of RFC 7591/7592 exchanges, so a registration access token the server
 * rotates (or a successor's first one) is durable the moment its answer arrives.
 */
export class RegistrationExchanges1795473000000 implements MigrationInterface {
  name = 'RegistrationExchanges1795473000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "registration_exchanges" ("id" uuid NOT NULL, "client_row_id" uuid NOT NULL, "operation" text NOT NULL, "registration" text NOT NULL, "client_id" text NOT NULL, "change" jsonb NOT NULL, "planned_state" jsonb, "status" text NOT NULL, "registration_access_token_ciphertext" bytea, "answer" jsonb, "server_ms" integer, "resolution" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "answered_at" TIMESTAMP WITH TIME ZONE, "settled_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "CHK_registration_exchanges_token_only_answered" CHECK ("status" = 'answered' OR "registration_access_token_ciphertext" IS NULL), CONSTRAINT "CHK_registration_exchanges_status" CHECK ("status" IN ('intent', 'answered', 'applied', 'refused', 'abandoned', 'superseded', 'lost')), CONSTRAINT "CHK_registration_exchanges_registration" CHECK ("registration" IN ('original', 'successor')), CONSTRAINT "CHK_registration_exchanges_operation" CHECK ("operation" IN ('update', 'register', 'delete')), CONSTRAINT "PK_registration_exchanges" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_registration_exchanges_open" ON "registration_exchanges" ("client_row_id", "created_at") WHERE "status" IN ('intent', 'answered')`,
    );
    await queryRunner.query(
      `ALTER TABLE "registration_exchanges" ADD CONSTRAINT "FK_registration_exchanges_client" FOREIGN KEY ("client_row_id") REFERENCES "clients"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "registration_exchanges" DROP CONSTRAINT "FK_registration_exchanges_client"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_registration_exchanges_open"`);
    await queryRunner.query(`DROP TABLE "registration_exchanges"`);
  }
}
