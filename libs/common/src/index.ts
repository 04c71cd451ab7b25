export * from './clock';
export * from './cursor';
export * from './errors';
export * from './ids';
export * from './logger';
export * from './common.module';
export * from './id-param';
export * from './validation';
