import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 13: a connector type is any provider marked `@Connector('type')`, so the column is no longer
 * a closed list in the schema; the API checks it against the application's connectors.
 */
export class ConnectorTypesFromConnectors1795474000000 implements MigrationInterface {
  name = 'ConnectorTypesFromConnectors1795474000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "authorization_servers" DROP CONSTRAINT "CHK_authorization_servers_connector_type"`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "authorization_servers" ADD CONSTRAINT "CHK_authorization_servers_connector_type" CHECK ("connector_type" IN ('rfc7592', 'manual'))`,
    );
  }
}
