export * from './config.module';
export * from './keyshift-config';
