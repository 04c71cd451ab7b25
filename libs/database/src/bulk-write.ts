import { write } from './write-results';
import { EntityManager, EntityTarget, ObjectLiteral } from 'typeorm';
import { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';

/**
 * Set-based writes for estate-sized batches. One statement with one array parameter per column
 * (`unnest`) instead of one bind parameter per value: 10,000 rows stay a handful of parameters,
 * well under Postgres's 65,535 limit, and one round trip. TypeORM's insert() would need chunking
 * into hundreds of multi-row VALUES statements for the same batch.
 */

function sqlType(column: ColumnMetadata): string {
  const type =
    typeof column.type === 'string'
      ? column.type
      : column.type === Boolean
        ? 'boolean'
        : column.type === Number
          ? 'integer'
          : 'text';
  return column.length && type === 'char' ? `char(${column.length})` : type;
}

/**
 * One array per column. Values are read by property name (our entities have no embeddeds), because
 * getEntityValue on a foreign-key column reads the relation object instead of the id column.
 * Array-typed columns go through jsonb, since unnest cannot produce one array per row from a 2-D array.
 */
function param(column: ColumnMetadata, rows: ObjectLiteral[]): unknown[] {
  return rows.map((row) => {
    const value: unknown = row[column.propertyName];
    return column.isArray ? (value == null ? null : JSON.stringify(value)) : (value ?? null);
  });
}

function selectExpr(column: ColumnMetadata, alias: string): string {
  const ref = `${alias}."${column.databaseName}"`;
  return column.isArray ? `ARRAY(SELECT jsonb_array_elements_text(${ref}))::${sqlType(column)}[]` : ref;
}

function unnestSource(columns: ColumnMetadata[], offset = 0): string {
  const arrays = columns.map((c, i) => `$${i + 1 + offset}::${c.isArray ? 'jsonb' : sqlType(c)}[]`);
  return `unnest(${arrays.join(', ')}) AS u(${columns.map((c) => `"${c.databaseName}"`).join(', ')})`;
}

/** `skipDuplicates`: rows whose key already exists are left out (ON CONFLICT DO NOTHING). */
export async function bulkInsert<T extends ObjectLiteral>(
  manager: EntityManager,
  target: EntityTarget<T>,
  rows: T[],
  options: { skipDuplicates?: boolean } = {},
): Promise<void> {
  if (rows.length === 0) return;
  const meta = manager.connection.getMetadata(target);
  const columns = meta.columns.filter((c) => !c.isVirtual);
  await manager.query(
    `INSERT INTO "${meta.tableName}" (${columns.map((c) => `"${c.databaseName}"`).join(', ')})
     SELECT ${columns.map((c) => selectExpr(c, 'u')).join(', ')} FROM ${unnestSource(columns)}${
       options.skipDuplicates ? ' ON CONFLICT DO NOTHING' : ''
     }`,
    columns.map((c) => param(c, rows)),
  );
}

/** Updates `fields` of each row, matched on the primary key. Returns how many rows matched. */
export async function bulkUpdate<T extends ObjectLiteral>(
  manager: EntityManager,
  target: EntityTarget<T>,
  rows: T[],
  fields: (keyof T & string)[],
): Promise<number> {
  if (rows.length === 0) return 0;
  const meta = manager.connection.getMetadata(target);
  const [pk] = meta.primaryColumns;
  const columns = [pk, ...fields.map((f) => meta.findColumnWithPropertyName(f)!)];
  const { count } = await write(
    manager,
    `UPDATE "${meta.tableName}" AS t SET ${columns
      .slice(1)
      .map((c) => `"${c.databaseName}" = ${selectExpr(c, 'u')}`)
      .join(', ')}
     FROM ${unnestSource(columns)} WHERE t."${pk.databaseName}" = u."${pk.databaseName}"`,
    columns.map((c) => param(c, rows)),
  );
  return count;
}
