export * from './allowlist';
export * from './address-policy';
export * from './outbound-http';
export * from './outbound.module';
export * from './http-answers';
