import { rowsFromCsv, rowsFromJson } from '@keyshift/features/clients/client-import.parser';

const header =
  'authorizationServerId,clientId,authMethod,clientSecret,target.authMethod,target.senderConstraint,target.strategy,owner,tags';

describe('import parsing', () => {
  it('maps CSV headers onto the JSON shape, with ; between tags and empty cells absent', () => {
    const rows = rowsFromCsv(`${header}\nAS,c1,client_secret_basic,"s,1",private_key_jwt,dpop,in_place,,a;b`, 10);
    expect(rows).toEqual([
      {
        row: 1,
        value: {
          authorizationServerId: 'AS',
          clientId: 'c1',
          authMethod: 'client_secret_basic',
          clientSecret: 's,1',
          target: { authMethod: 'private_key_jwt', senderConstraint: 'dpop', strategy: 'in_place' },
          tags: ['a', 'b'],
        },
      },
    ]);
  });

  it('reports a row with the wrong number of cells as that row', () => {
    const rows = rowsFromCsv(`${header}\nAS,c1,client_secret_basic\n`, 10);
    expect(rows[0].parseError).toEqual({ field: '(row)', message: 'expected 9 columns, found 3' });
  });

  it('refuses unknown columns by position (never quoting them) and missing columns by name', () => {
    expect(() => rowsFromCsv('clientId,colour\nx,y', 10)).toThrow(
      /header\[2\]: unknown column.*header.authorizationServerId: required column is missing/,
    );
    expect(() => rowsFromCsv('clientId,colour\nx,y', 10)).not.toThrow(/colour/);
  });

  it('refuses an unterminated quote with the line', () => {
    expect(() => rowsFromCsv(`${header}\nAS,"c1,x`, 10)).toThrow(/CSV could not be parsed near line/);
  });

  it('enforces the row limit and the array shape', () => {
    expect(() => rowsFromJson([{}, {}, {}], 2)).toThrow('at most 2 rows');
    expect(() => rowsFromJson({ clients: [] }, 2)).toThrow('body: must be a JSON array');
  });
});
