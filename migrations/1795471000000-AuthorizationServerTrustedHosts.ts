import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 12: the hosts besides the issuer's that a server's metadata may name as endpoints
 * (host[:port] entries; Okta and Entra ID serve mTLS aliases from other hosts). Empty means the
 * issuer's host only, which is what every existing server gets.
 */
export class AuthorizationServerTrustedHosts1795471000000 implements MigrationInterface {
  name = 'AuthorizationServerTrustedHosts1795471000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "authorization_servers" ADD "trusted_hosts" text array NOT NULL DEFAULT '{}'`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "authorization_servers" DROP COLUMN "trusted_hosts"`);
  }
}
