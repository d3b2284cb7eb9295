/** `xfa inspect`: the element list, one element's page, did-you-mean, --json. */
import { describe, expect, it } from 'vitest';
import { parseSpecs, registry } from '../../src/index.js';
import { xfa } from './helpers.js';

describe('xfa inspect', () => {
  it('lists every registered element on one line: name, role, description', async () => {
    const out = await xfa(['inspect']);
    expect(out.code).toBe(0);
    const lines = out.stdout.trimEnd().split('\n');
    const all = registry.all();
    expect(lines).toHaveLength(all.length);
    all.forEach((info, i) => {
      expect(lines[i]).toMatch(new RegExp(`^${info.name} +${info.role} +`));
      expect(lines[i].endsWith(info.description)).toBe(true);
    });
  });

  it('describes one element: help, mechanism pairs with costs, every property, an example', async () => {
    const out = await xfa(['inspect', 'dest-file']);
    expect(out.code).toBe(0);
    const info = registry.get('dest-file');
    expect(out.stdout).toMatch(/^dest-file — Writes a file atomically/);
    expect(out.stdout).toContain('Role:        destination');
    expect(out.stdout.replace(/\s+/g, ' ')).toContain(info.longHelp.replace(/\s+/g, ' '));
    expect(out.stdout).toMatch(/^ {2}WRITEFD -> NONE +0 copies\/byte +0 allocs\/block +0 threads$/m);
    expect(out.stdout).toMatch(/^ {2}PUSH_BUFFER -> NONE +1 copy\/byte +0 allocs\/block +0 threads$/m);
    expect(out.stdout).toMatch(/^ {2}path +string, required$/m);
    expect(out.stdout).toMatch(/^ {2}sync +bool, default true$/m);
    expect(out.stdout).toContain(`  xfa launch '${info.example}'`);
  });

  it('shows defaults and ranges in the property\'s units', async () => {
    const out = await xfa(['inspect', 'dest-buffer']);
    expect(out.stdout).toMatch(/^ {2}max-size +size, default 1MiB, range 0 \.\. 1GiB$/m);
    const random = await xfa(['inspect', 'source-random']);
    expect(random.stdout).toMatch(/^ {2}seed +int, required, range 1 \.\. 4294967295$/m);
    expect(random.stdout).toMatch(/^ {10}LCG seed, non-zero$/m);
  });

  it('every element\'s example line is a pipeline that compiles', async () => {
    for (const info of registry.all()) {
      const out = await xfa(['inspect', info.name]);
      const example = /^ {2}xfa launch '(.*)'$/m.exec(out.stdout)?.[1];
      expect(example, info.name).toBe(info.example);
      expect(() => parseSpecs(info.example), info.example).not.toThrow();
    }
  });

  it('suggests the closest name for an unknown element and exits 2', async () => {
    const out = await xfa(['inspect', 'dest-fiel']);
    expect(out.code).toBe(2);
    expect(out.stdout).toBe('');
    expect(out.stderr).toContain('xfa: unknown element "dest-fiel" (did you mean "dest-file"?)');
    const far = await xfa(['inspect', 'zzzzzzzz']);
    expect(far.code).toBe(2);
    expect(far.stderr).toContain('"xfa inspect" lists them');
  });

  it('prints the registry data as JSON with --json', async () => {
    const one = await xfa(['inspect', '--json', 'filter-crc']);
    expect(JSON.parse(one.stdout)).toEqual(registry.get('filter-crc'));
    const all = await xfa(['inspect', '--json']);
    const parsed = JSON.parse(all.stdout) as Array<{ name: string }>;
    expect(parsed.map((e) => e.name)).toEqual(registry.all().map((e) => e.name));
  });
});
