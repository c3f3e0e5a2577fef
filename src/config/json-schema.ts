/**
 * The JSON Schema of diffship.yml, generated from the zod schema so the two can
 * never disagree. scripts/write-schema.mjs writes it to schema/diffship.schema.json
 * (shipped as `diffship/schema.json`); a test fails when the file is stale.
 */
import * as z from 'zod/mini';
import { ConfigFile } from './schema.js';

/** Where editors fetch the schema from (`# yaml-language-server: $schema=<this>`). */
export const SCHEMA_URL = 'https://unpkg.com/diffship/schema/diffship.schema.json';

/** The JSON Schema (draft 2020-12) of the file as users write it (zod's input side). */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(ConfigFile, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'throw',
  });
  return { ...schema, $id: SCHEMA_URL, title: 'diffship.yml' };
}

/** The file's exact text: 2-space JSON and a final newline. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
