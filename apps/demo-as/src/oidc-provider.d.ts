// oidc-provider ships no types; the demo server uses only its constructor and callback().
declare module 'oidc-provider';
