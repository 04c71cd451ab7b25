import {
  clientFilterConditions,
  clientFilterSql,
  criteriaGiven,
  requiredTags,
} from '@keyshift/features/ports/client-filter';

describe('the client filter as SQL', () => {
  it('is TRUE when nothing is set (null, empty text and empty arrays count as unset)', () => {
    const params: unknown[] = [];
    expect(clientFilterSql({}, params)).toBe('TRUE');
    expect(clientFilterSql({ owner: '', tags: [], tag: null, phase: null, state: '' }, params)).toBe('TRUE');
    expect(params).toEqual([]);
  });

  it('puts every criterion in its own parameter, numbered after the ones the caller already has', () => {
    const params: unknown[] = ['cursor'];
    const sql = clientFilterSql(
      { authorizationServerId: 'srv', owner: "o'neil", phase: 'cutover', state: 'failed', tags: ['a', 'b'] },
      params,
      'clients',
    );
    expect(sql).toBe(
      'clients.authorization_server_id = $2 AND clients.owner = $3 AND clients.phase = $4 AND clients.state = $5' +
        ' AND clients.tags @> $6::text[]',
    );
    expect(params).toEqual(['cursor', 'srv', "o'neil", 'cutover', 'failed', ['a', 'b']]);
  });

  it('reads the older `tag` as one more required tag, without repeats', () => {
    expect(requiredTags({ tag: 'pci' })).toEqual(['pci']);
    expect(requiredTags({ tag: 'pci', tags: ['pci', 'eu'] })).toEqual(['pci', 'eu']);
    const params: unknown[] = [];
    expect(clientFilterConditions({ tag: 'pci' }, params)).toEqual(['c.tags @> $1::text[]']);
    expect(params).toEqual([['pci']]);
  });

  it('names the criteria that narrow', () => {
    expect(criteriaGiven({ tags: [], owner: null })).toEqual([]);
    expect(criteriaGiven({ tag: 'x', state: 'failed' })).toEqual(['tag', 'state']);
  });
});
