import { callerKey } from '@keyshift/features/api-tokens/failed-auth-limiter';

describe('who the failed-authentication limit counts', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:0000:0000:0000:0009', '2001:db8:1:2::/64'],
    ['::1', '0:0:0:0::/64'],
  ])('%s counts as %s', (ip, key) => expect(callerKey(ip)).toBe(key));

  it('gives one IPv6 /64 one allowance, and neighbouring /64s their own', () => {
    expect(callerKey('2001:db8:1:2::a')).toBe(callerKey('2001:db8:1:2:dead:beef:0:1'));
    expect(callerKey('2001:db8:1:2::a')).not.toBe(callerKey('2001:db8:1:3::a'));
  });
});
