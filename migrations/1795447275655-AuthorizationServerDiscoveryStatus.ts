import { MigrationInterface, QueryRunner } from 'typeorm';

/** Records the outcome of each discovery attempt on the authorization server (issue 3). */

export class AuthorizationServerDiscoveryStatus1795447275655 implements MigrationInterface {
  name = 'AuthorizationServerDiscoveryStatus1795447275655';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "authorization_servers" ADD "discovery_status" text`);
    await queryRunner.query(`ALTER TABLE "authorization_servers" ADD "discovery_error" text`);
    await queryRunner.query(
      `ALTER TABLE "authorization_servers" ADD "discovery_attempted_at" TIMESTAMP WITH TIME ZONE`,
    );
    await queryRunner.query(
      `ALTER TABLE "authorization_servers" ADD CONSTRAINT "CHK_authorization_servers_discovery_status" CHECK ("discovery_status" IN ('ok', 'failed'))`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "authorization_servers" DROP CONSTRAINT "CHK_authorization_servers_discovery_status"`,
    );
    await queryRunner.query(`ALTER TABLE "authorization_servers" DROP COLUMN "discovery_attempted_at"`);
    await queryRunner.query(`ALTER TABLE "authorization_servers" DROP COLUMN "discovery_error"`);
    await queryRunner.query(`ALTER TABLE "authorization_servers" DROP COLUMN "discovery_status"`);
  }
}
