import { describe, expect, it } from 'vitest';
import { withoutPassword } from './setting-parsers';
import { parseCommandLine } from './settings';

describe('withoutPassword', () => {
  it('hides the password of a URL and keeps everything else as given', () => {
    expect(withoutPassword('http://admin:s3cret@prom:9090')).toBe('http://admin:***@prom:9090');
    expect(withoutPassword('https://admin:s3cret@prom.example/prefix')).toBe('https://admin:***@prom.example/prefix');
    expect(withoutPassword('http://:s3cret@prom:9090/')).toBe('http://:***@prom:9090/');
    expect(withoutPassword('http://a%40b:p%3Aw@prom:9090')).toBe('http://a%40b:***@prom:9090');
  });

  it('leaves a URL without a password alone, and hides the user info of one it cannot parse', () => {
    expect(withoutPassword('http://localhost:9090')).toBe('http://localhost:9090');
    expect(withoutPassword('http://admin@prom:9090')).toBe('http://admin@prom:9090');
    expect(withoutPassword('http://admin:s3 cret@prom:bad')).toBe('http://***@prom:bad');
  });

  it('is applied to a bad -prometheus_endpoint quoted in the start-up error', () => {
    expect(() => parseCommandLine(['-snapshot_dir', '/x', '-prometheus_endpoint', 'ftp://admin:s3cret@prom:9090'], {})).toThrow(
      'invalid value "ftp://admin:***@prom:9090" for -prometheus_endpoint: want an http or https URL',
    );
  });
});
