import { dataSourceOptions, runMigrations } from '@keyshift/database';
import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../support/test-env';

describe('migrations', () => {
  let db: TestDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = await new DataSource(dataSourceOptions(db.url, 2)).initialize();
  });
  afterAll(async () => {
    await dataSource.destroy();
    await db.drop();
  });

  it('agree with the entities: migration:generate would produce nothing', async () => {
    const pending = await dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((q) => q.query)).toEqual([]);
  });

  it('revert cleanly and apply again', async () => {
    const applied = (await dataSource.query('SELECT count(*)::int AS n FROM typeorm_migrations'))[0].n as number;
    for (let i = 0; i < applied; i++) await dataSource.undoLastMigration({ transaction: 'each' });
    const left = await dataSource.query(
      `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'typeorm_migrations'`,
    );
    expect(left).toEqual([]);
    expect(await runMigrations(dataSource)).toHaveLength(applied);
    expect((await dataSource.driver.createSchemaBuilder().log()).upQueries).toEqual([]);
  });
});
