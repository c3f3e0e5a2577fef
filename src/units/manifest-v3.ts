/**
 * webMethods Integration Server package manifests (`manifest.v3`): the
 * package's `version` and the packages it `requires`. The file is IS's
 * Values XML; only the top-level `version` value and the `requires` record
 * matter here, so a small tolerant reader does the job (no XML dependency).
 * `<null name="requires"/>` (what IS writes for none) and a missing record both
 * mean no requirements.
 */

export interface ManifestV3 {
  /** `<value name="version">`, or null when absent. */
  version: string | null;
  /** Required package → the version written in the manifest. */
  requires: Record<string, string>;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return ENTITIES[e] ?? '';
  });
}

const VALUE = /<value\s+name\s*=\s*(["'])(.*?)\1[^>]*?(?:\/>|>([\s\S]*?)<\/value\s*>)/g;
const REQUIRES = /<record\s+name\s*=\s*(["'])requires\1[^>]*?(?:\/>|>([\s\S]*?)<\/record\s*>)/;
/** Nested records (requires is one; others hold their own `version` values). */
const RECORD = /<record\b[^>]*?(?:\/>|>[\s\S]*?<\/record\s*>)/g;

/**
 * Read a manifest.v3. Throws an Error naming what is wrong when the text is not
 * a Values document; the caller adds the file name.
 *
 * @example parseManifestV3('<Values version="2.0"><value name="version">1.2</value></Values>')
 * // { version: '1.2', requires: {} }
 */
export function parseManifestV3(text: string): ManifestV3 {
  const body = text.replace(/<!--[\s\S]*?-->/g, '');
  if (!/<Values\b/.test(body)) throw new Error('not a webMethods manifest.v3 (no <Values> element)');
  const requires: Record<string, string> = {};
  const record = REQUIRES.exec(body);
  if (record?.[2] !== undefined) {
    for (const m of record[2].matchAll(VALUE)) requires[decode(m[2]!)] = decode((m[3] ?? '').trim());
  }
  let version: string | null = null;
  for (const m of body.replace(RECORD, '').matchAll(VALUE)) {
    if (m[2] === 'version') version = decode((m[3] ?? '').trim());
  }
  return { version, requires };
}
