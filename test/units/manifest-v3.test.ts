import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseManifestV3 } from '../../src/units/manifest-v3.js';

const sample = (name: string) => readFileSync(new URL(`./samples/${name}`, import.meta.url), 'utf8');

describe('parseManifestV3', () => {
  it('reads a real IS manifest with <null name="requires"/>: no dependencies', () => {
    expect(parseManifestV3(sample('Partner_ACME.manifest.v3'))).toEqual({ version: '1.0', requires: {} });
  });

  it('reads the requires record, ignoring versions inside other records and comments', () => {
    expect(parseManifestV3(sample('OrderProcessing.manifest.v3'))).toEqual({
      version: '2.4.1',
      requires: { WmPublic: '10.15', CommonUtils: '1.3', 'Customer_&_Accounts': '*.*' },
    });
  });

  it.each([
    ['no version', '<Values version="2.0"></Values>', { version: null, requires: {} }],
    [
      'single quotes, empty requires record',
      "<Values><value name='version'>3</value><record name='requires' javaclass='com.wm.util.Values'></record></Values>",
      { version: '3', requires: {} },
    ],
    [
      'self-closing requires record',
      '<Values><record name="requires"/><value name="version">0.1</value></Values>',
      { version: '0.1', requires: {} },
    ],
    [
      'empty version value of a requirement',
      '<Values><record name="requires"><value name="A"></value><value name="B"/></record></Values>',
      { version: null, requires: { A: '', B: '' } },
    ],
  ])('%s', (_, text, expected) => {
    expect(parseManifestV3(text)).toEqual(expected);
  });

  it('refuses a file that is not a Values document', () => {
    expect(() => parseManifestV3('{"version": 1}')).toThrow(/not a webMethods manifest\.v3/);
  });
});
