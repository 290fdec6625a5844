import fs from 'node:fs';
import path from 'node:path';
import avro from 'avsc';
import { PROJECT_ROOT } from '../../runtime/config';
import { parseAvro } from '../../runtime/registry/avro-types';

/**
 * Regression: avsc records every named type (record, enum) in the registry object it is given.
 * Reusing one registry across parses, as a schema-registry client does with its shared options,
 * makes the second parse of the same schema throw "duplicate type name". A consumer that parses
 * a writer schema per new schema id would then fail on its second id of the same record.
 */
const schemasDir = path.join(PROJECT_ROOT, 'schemas');

describe('avsc duplicate type name', () => {
  it('reproduces the failure with a shared avsc registry', () => {
    const schema = JSON.parse(
      fs.readFileSync(path.join(schemasDir, 'order-event.avsc'), 'utf8'),
    ) as avro.Schema;
    const shared = { registry: {} };
    avro.Type.forSchema(schema, shared);
    expect(() => avro.Type.forSchema(schema, shared)).toThrow(/duplicate type name/);
  });

  it('parses every repo schema many times with parseAvro', () => {
    for (const file of fs.readdirSync(schemasDir).filter((f) => f.endsWith('.avsc'))) {
      const text = fs.readFileSync(path.join(schemasDir, file), 'utf8');
      const types = Array.from({ length: 20 }, () => parseAvro(text));
      const fingerprint = types[0]!.fingerprint().toString('hex');
      for (const t of types) expect(t.fingerprint().toString('hex')).toBe(fingerprint);
    }
  });

  it('parses an evolved version of a record after the original, under the same name', () => {
    const v1 = JSON.parse(fs.readFileSync(path.join(schemasDir, 'order-event.avsc'), 'utf8')) as {
      fields: object[];
    };
    const v2 = {
      ...v1,
      fields: [...v1.fields, { name: 'sales_channel', type: ['null', 'string'], default: null }],
    };
    const a = parseAvro(v1);
    const b = parseAvro(v2);
    expect(a.name).toBe(b.name);
    expect(() => b.createResolver(a)).not.toThrow();
  });
});
