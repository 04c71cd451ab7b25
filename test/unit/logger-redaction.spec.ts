import { Writable } from 'node:stream';
import pino from 'pino';
import { REDACTED_PATHS } from '@keyshift/common';

function capture(): { logger: pino.Logger; lines: () => string } {
  let out = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      out += chunk.toString();
      done();
    },
  });
  return { logger: pino({ redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, stream), lines: () => out };
}

describe('log redaction', () => {
  it('blanks credentials wherever they sit in a logged object', () => {
    const { logger, lines } = capture();
    logger.info({
      headers: { authorization: 'Basic c2VjcmV0' },
      clientSecret: 'hunter2',
      request: {
        client_secret: 'hunter3',
        client_assertion: 'eyJhbGciOi.assertion',
        registration_access_token: 'rat-1',
      },
      job: { data: { token: 'ks_abc' } },
      key: { kty: 'EC', d: 'private-scalar' },
      generated: { privateJwk: { d: 'private-scalar-3' } },
      err: { jwk: { d: 'private-scalar-2' } },
    });
    const text = lines();
    for (const secret of ['c2VjcmV0', 'hunter2', 'hunter3', 'eyJhbGciOi', 'rat-1', 'ks_abc', 'private-scalar'])
      expect(text).not.toContain(secret);
    expect(text).toContain('[redacted]');
  });
});
