export * from './config.module';
export * from './keyshift-config';
export * from './host-port';
