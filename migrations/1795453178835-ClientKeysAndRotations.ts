import { MigrationInterface, QueryRunner } from 'typeorm';

/** Client keys, key rotations, BYOK possession challenges, rotation policies, and the kid on probes (issue 4). */

export class ClientKeysAndRotations1795453178835 implements MigrationInterface {
  name = 'ClientKeysAndRotations1795453178835';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "client_keys" ("id" uuid NOT NULL, "client_row_id" uuid NOT NULL, "kid" text NOT NULL, "alg" text NOT NULL, "origin" text NOT NULL, "state" text NOT NULL, "public_jwk" jsonb NOT NULL, "private_key_ciphertext" bytea, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "activated_at" TIMESTAMP WITH TIME ZONE, "retiring_at" TIMESTAMP WITH TIME ZONE, "retired_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "CHK_client_keys_sealed" CHECK (("private_key_ciphertext" IS NULL) = ("origin" = 'byok' OR "state" = 'retired')), CONSTRAINT "CHK_client_keys_alg" CHECK ("alg" IN ('ES256', 'PS256', 'RS256', 'EdDSA')), CONSTRAINT "CHK_client_keys_origin" CHECK ("origin" IN ('managed', 'byok')), CONSTRAINT "CHK_client_keys_state" CHECK ("state" IN ('pending', 'active', 'retiring', 'retired')), CONSTRAINT "PK_e09d807dc3f90387a3dd8684abc" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_client_keys_one_active" ON "client_keys"  ("client_row_id") WHERE "state" = 'active'`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_client_keys_client" ON "client_keys"  ("client_row_id", "state") `);
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_client_keys_kid" ON "client_keys"  ("kid") `);
    await queryRunner.query(
      `CREATE TABLE "key_rotations" ("id" uuid NOT NULL, "client_row_id" uuid NOT NULL, "trigger" text NOT NULL, "alg" text NOT NULL, "modulus_length" integer, "step" text NOT NULL, "status" text NOT NULL, "new_key_id" uuid, "old_key_id" uuid, "overlap_seconds" integer NOT NULL, "next_step_at" TIMESTAMP WITH TIME ZONE, "attempts" integer NOT NULL DEFAULT '0', "last_error" text, "version" integer NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, "finished_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "CHK_key_rotations_trigger" CHECK ("trigger" IN ('manual', 'schedule')), CONSTRAINT "CHK_key_rotations_status" CHECK ("status" IN ('running', 'waiting', 'failed', 'done')), CONSTRAINT "CHK_key_rotations_step" CHECK ("step" IN ('create', 'publish', 'test', 'promote', 'retire', 'done')), CONSTRAINT "PK_abc4d7fe3c176868a67c5235fc2" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_key_rotations_client" ON "key_rotations"  ("client_row_id", "id") `);
    await queryRunner.query(
      `CREATE INDEX "IDX_key_rotations_due" ON "key_rotations"  ("next_step_at") WHERE "status" <> 'done' AND "next_step_at" IS NOT NULL`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_key_rotations_one_open" ON "key_rotations"  ("client_row_id") WHERE "status" <> 'done'`,
    );
    await queryRunner.query(
      `CREATE TABLE "key_possession_challenges" ("id" uuid NOT NULL, "client_row_id" uuid NOT NULL, "nonce" text NOT NULL, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "used_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_6bace7204bce77496a4e5fc47dc" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_key_possession_challenges_client" ON "key_possession_challenges"  ("client_row_id") `,
    );
    await queryRunner.query(`ALTER TABLE "authorization_servers" ADD "rotation_policy" jsonb`);
    await queryRunner.query(`ALTER TABLE "clients" ADD "jwks_id" text`);
    await queryRunner.query(`ALTER TABLE "clients" ADD "rotation_policy" jsonb`);
    await queryRunner.query(`ALTER TABLE "probes" ADD "kid" text`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_clients_jwks_id" ON "clients"  ("jwks_id") WHERE "jwks_id" IS NOT NULL`,
    );
    await queryRunner.query(
      `ALTER TABLE "client_keys" ADD CONSTRAINT "FK_client_keys_client" FOREIGN KEY ("client_row_id") REFERENCES "clients"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "key_rotations" ADD CONSTRAINT "FK_key_rotations_client" FOREIGN KEY ("client_row_id") REFERENCES "clients"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "key_possession_challenges" ADD CONSTRAINT "FK_key_possession_challenges_client" FOREIGN KEY ("client_row_id") REFERENCES "clients"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "key_possession_challenges" DROP CONSTRAINT "FK_key_possession_challenges_client"`,
    );
    await queryRunner.query(`ALTER TABLE "key_rotations" DROP CONSTRAINT "FK_key_rotations_client"`);
    await queryRunner.query(`ALTER TABLE "client_keys" DROP CONSTRAINT "FK_client_keys_client"`);
    await queryRunner.query(`DROP INDEX "public"."UQ_clients_jwks_id"`);
    await queryRunner.query(`ALTER TABLE "probes" DROP COLUMN "kid"`);
    await queryRunner.query(`ALTER TABLE "clients" DROP COLUMN "rotation_policy"`);
    await queryRunner.query(`ALTER TABLE "clients" DROP COLUMN "jwks_id"`);
    await queryRunner.query(`ALTER TABLE "authorization_servers" DROP COLUMN "rotation_policy"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_key_possession_challenges_client"`);
    await queryRunner.query(`DROP TABLE "key_possession_challenges"`);
    await queryRunner.query(`DROP INDEX "public"."UQ_key_rotations_one_open"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_key_rotations_due"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_key_rotations_client"`);
    await queryRunner.query(`DROP TABLE "key_rotations"`);
    await queryRunner.query(`DROP INDEX "public"."UQ_client_keys_kid"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_client_keys_client"`);
    await queryRunner.query(`DROP INDEX "public"."UQ_client_keys_one_active"`);
    await queryRunner.query(`DROP TABLE "client_keys"`);
  }
}
