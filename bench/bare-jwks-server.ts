/**
 * The JWKS bench's baseline: a bare node:http server answering every request with the same JWKS
 * bytes and the same headers Keyshift sends. Reads JWKS_BODY (base64) and JWKS_ETAG; prints the
 * port it listens on.
 */
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';

const body = Buffer.from(process.env.JWKS_BODY ?? '', 'base64');
const headers = {
  'content-type': 'application/jwk-set+json',
  'cache-control': process.env.JWKS_CACHE_CONTROL ?? 'public, max-age=300',
  etag: process.env.JWKS_ETAG ?? '""',
  'content-length': String(body.length),
};
const server = createServer((_req, res) => {
  res.writeHead(200, headers);
  res.end(body);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
