import { describe, expect, it } from 'vitest';
import { durationMs, parseDuration } from '../../src/config/duration.js';
import { ConfigError } from '../../src/errors.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['2s', 2000],
    ['1m', 60_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1.5s', 1500],
    [' 10 s ', 10_000],
    ['30', 30_000],
    [30, 30_000],
    [0.25, 250],
    [0, 0],
  ])('%j is %i ms', (value, ms) => {
    expect(parseDuration(value, 'timeout')).toBe(ms);
  });

  it.each(['fast', '', '1d', '-1s', '1 m s', 's', '10ms5'])('refuses %j, naming the key path', (value) => {
    expect(() => parseDuration(value, 'defaults.verify[0].http.interval')).toThrow(ConfigError);
    expect(() => parseDuration(value, 'defaults.verify[0].http.interval')).toThrow(
      `defaults.verify[0].http.interval: expected a duration like 500ms, 2s, 1m, 1h or a number of seconds (got ${JSON.stringify(value)})`,
    );
  });

  it('refuses negative and non-finite numbers', () => {
    expect(durationMs(-1)).toBeUndefined();
    expect(durationMs(Infinity)).toBeUndefined();
    expect(durationMs(NaN)).toBeUndefined();
    expect(() => parseDuration(-1, 'timeout')).toThrow('timeout: expected a duration');
  });
});
