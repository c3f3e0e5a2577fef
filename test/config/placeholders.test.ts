import { describe, expect, it } from 'vitest';
import { checkPlaceholders, expandPlaceholders, findPlaceholders } from '../../src/config/placeholders.js';
import { ConfigError } from '../../src/errors.js';

const ctx = {
  name: 'soup-a',
  host: 'soup-a.internal',
  port: 22,
  path: '/opt/soup',
  vars: { http_port: '8080', 'dash-name': 'd' },
  release: 'abc123'.padEnd(40, '0'),
  previous: 'def456'.padEnd(40, '0'),
};

describe('expandPlaceholders', () => {
  it('replaces every placeholder', () => {
    expect(
      expandPlaceholders(
        '{name} {host}:{port} {path} {vars.http_port} {vars.dash-name} {release} {previous}',
        ctx,
      ),
    ).toBe(`soup-a soup-a.internal:22 /opt/soup 8080 d ${ctx.release} ${ctx.previous}`);
  });

  it('expands {previous} to "" for a first deploy', () => {
    expect(expandPlaceholders('[{previous}]', { ...ctx, previous: null })).toBe('[]');
  });

  it('leaves braces that are not placeholders alone', () => {
    const text = `curl -d '{"a":1}' x; echo \${HOME} {a,b} \\d{3} {} { print } {foo-bar} {1x}`;
    expect(expandPlaceholders(text, ctx)).toBe(text);
    expect(findPlaceholders(text)).toEqual([]);
  });

  it('throws a ConfigError for an unknown placeholder or a missing release', () => {
    expect(() => expandPlaceholders('{vars.nope}', ctx)).toThrow(ConfigError);
    expect(() => expandPlaceholders('{release}', { ...ctx, release: undefined })).toThrow('{release}');
  });
});

describe('checkPlaceholders', () => {
  const target = { name: 'soup-a', vars: { http_port: '8080' } };

  it('accepts known placeholders', () => {
    expect(
      checkPlaceholders('{name} {host} {path} {vars.http_port} {release} {previous}', 'x', target),
    ).toEqual([]);
  });

  it('refuses an unknown var, with a hint', () => {
    expect(checkPlaceholders('{vars.http_prot}', 'defaults.before.run', target)).toEqual([
      {
        path: 'defaults.before.run',
        message:
          'unknown placeholder {vars.http_prot}: target "soup-a" has no var "http_prot" — did you mean {vars.http_port}?',
      },
    ]);
    expect(checkPlaceholders('{vars.nope}', 'k', { name: 'b', vars: {} })[0]!.message).toBe(
      'unknown placeholder {vars.nope}: target "b" has no var "nope" (it has no vars)',
    );
  });

  it('refuses a typo, with a hint, and an unknown name with the list', () => {
    expect(checkPlaceholders('{hots}', 'k', target)[0]!.message).toBe(
      'unknown placeholder {hots} — did you mean {host}?',
    );
    expect(checkPlaceholders('{http_port}', 'k', target)[0]!.message).toContain(
      'unknown placeholder {http_port}',
    );
    expect(checkPlaceholders('{print}', 'k', target)[0]!.message).toContain('write { print } with spaces');
  });

  it('refuses {port} on a target without a port', () => {
    expect(checkPlaceholders('{port}', 'k', target)[0]!.message).toContain('target "soup-a" has no port');
    expect(checkPlaceholders('{port}', 'k', { ...target, port: 22 })).toEqual([]);
  });
});
