import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 14: a vendor admin API per authorization server. Where it is (`connector_admin_url`), the
 * public part of the credential Keyshift presents there (`admin_credential`: its kind, a client id),
 * the secret part sealed by the envelope cipher with the server row as AAD, and the admin API's
 * call budget (Okta's apps bucket is 20 to 100 calls a minute).
 */
/** As the entity's @Check states it: TypeORM compares the text. */
const ADMIN_CREDENTIAL_CHECK = `("admin_credential" IS NULL) = ("admin_credential_ciphertext" IS NULL) AND ("admin_credential" IS NULL OR "admin_credential"->>'kind' IN ('client_credentials', 'bearer', 'ssws'))`;

export class ConnectorAdminAccess1795475000000 implements MigrationInterface {
  name = 'ConnectorAdminAccess1795475000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE "authorization_servers"
        ADD COLUMN "connector_admin_url" text NULL,
        ADD COLUMN "admin_credential" jsonb NULL,
        ADD COLUMN "admin_credential_ciphertext" bytea NULL,
        ADD COLUMN "admin_calls_per_minute" integer NULL,
        ADD CONSTRAINT "CHK_authorization_servers_admin_calls_per_minute" CHECK ("admin_calls_per_minute" > 0),
        ADD CONSTRAINT "CHK_authorization_servers_admin_credential" CHECK (${ADMIN_CREDENTIAL_CHECK})`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE "authorization_servers"
        DROP CONSTRAINT "CHK_authorization_servers_admin_credential",
        DROP CONSTRAINT "CHK_authorization_servers_admin_calls_per_minute",
        DROP COLUMN "admin_calls_per_minute",
        DROP COLUMN "admin_credential_ciphertext",
        DROP COLUMN "admin_credential",
        DROP COLUMN "connector_admin_url"`);
  }
}
