export * from './api-token';
export * from './crypto.module';
export * from './envelope-cipher';
