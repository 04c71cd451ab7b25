export * from './assert-unreachable';
export * from './evidence';
export * from './gates';
export * from './phase-machine';
export * from './phases';
export * from './vendor-support';
export * from './evidence-probes';
export * from './campaign-waves';
