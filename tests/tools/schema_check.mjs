// Validates JSON documents against ward's JSON Schemas (docs/schemas) with ajv, for
// crates/ward/tests/it/tools.rs. Arguments: the schema files. Input: one JSON object per line,
// {"schema": the schema's $id, "document": the document}. Output: one JSON object per line,
// {"valid": true|false, "errors": [{"path", "keyword", "message"}]}. Strict mode: a schema
// ajv cannot read exactly (an unknown keyword or format, a loose type) is an error. No network:
// every schema is given, and none is fetched.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats(ajv);
for (const file of process.argv.slice(2)) {
  ajv.addSchema(JSON.parse(readFileSync(file, 'utf8')));
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  const { schema, document } = JSON.parse(line);
  const validate = ajv.getSchema(schema);
  if (!validate) throw new Error(`no schema ${schema}`);
  const valid = validate(document);
  const errors = (validate.errors ?? []).map((error) => ({
    path: error.instancePath,
    keyword: error.keyword,
    message: error.message,
  }));
  process.stdout.write(JSON.stringify({ valid, errors }) + '\n');
}
