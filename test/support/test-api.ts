import { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { createApiApp } from '../../apps/api/src/create-api-app';
import { createTestDatabase, TestDatabase, testConfig } from './test-env';

export interface TestApi {
  app: NestFastifyApplication;
  db: TestDatabase;
  adminToken: string;
  http(): ReturnType<typeof request>;
  /** Bearer header for a token. */
  as(token: string): { Authorization: string };
  close(): Promise<void>;
}

/** The real API (Fastify, guards, pipes, filters) on a private database, driven through supertest. */
export async function startTestApi(env: Record<string, string> = {}): Promise<TestApi> {
  const db = await createTestDatabase();
  const config = testConfig(db, env);
  const app = await createApiApp(config);
  await app.getHttpAdapter().getInstance().ready();
  return {
    app,
    db,
    adminToken: config.adminToken,
    http: () => request(app.getHttpServer()),
    as: (token) => ({ Authorization: `Bearer ${token}` }),
    close: async () => {
      await app.close();
      await db.drop();
    },
  };
}
