import { Global, Module } from '@nestjs/common';
import { JobQueue } from './job-queue.service';
import { RedisConnection } from './redis-connection';
import { RequestBudget } from './request-budget';

@Global()
@Module({ providers: [RedisConnection, JobQueue, RequestBudget], exports: [RedisConnection, JobQueue, RequestBudget] })
export class QueueModule {}
