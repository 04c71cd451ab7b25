export * from './job-queue.service';
export * from './jobs';
export * from './queue.module';
export * from './redis-connection';
export * from './job-worker.host';
export * from './periodic-jobs';
export * from './request-budget';
