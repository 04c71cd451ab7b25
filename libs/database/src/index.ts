export * from './data-source-options';
export * from './database.module';
export * from './entities';
export * from './migrate';
export * from './pg-errors';
export * from './bulk-write';
export * from './batched-reads';
export * from './write-results';
