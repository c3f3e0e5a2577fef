// Writes schema/diffship.schema.json from the built zod schema (run `npm run schema`,
// which builds first). test/config/json-schema.test.ts fails when the file is stale.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configJsonSchemaText } from '../lib/config/json-schema.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'schema', 'diffship.schema.json');
await mkdir(dirname(out), { recursive: true });
await writeFile(out, configJsonSchemaText());
console.log(`wrote ${out}`);
