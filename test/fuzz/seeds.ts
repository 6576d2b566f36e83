// The real configs the fuzzer starts from: the default bundle, `tsrun spec` (root and rootless),
// and what containerd and podman send (their exec process.json grafted onto the default config).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultConfig } from '../../src/spec/default-config.ts';
import { parseJson } from '../../src/spec/load.ts';
import type { Value } from './mutate.ts';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLIENTS = join(REPO, 'test', 'fixtures', 'clients');

const read = (path: string) => parseJson(readFileSync(path, 'utf8'), path) as { [key: string]: Value };

export interface Seed {
  name: string;
  config: { [key: string]: Value };
}

export function seedConfigs(): Seed[] {
  const bundle = read(join(REPO, 'bundles', 'default', 'config.json'));
  const seeds: Seed[] = [
    { name: 'bundles/default', config: bundle },
    { name: 'tsrun spec', config: defaultConfig({ rootless: false, cgroupNamespace: false }) as unknown as Seed['config'] },
    { name: 'tsrun spec --rootless', config: defaultConfig({ rootless: true, cgroupNamespace: true }) as unknown as Seed['config'] },
  ];
  for (const file of readdirSync(CLIENTS).filter((f) => f.endsWith('.json')).sort()) {
    const data = read(join(CLIENTS, file));
    const config = file.endsWith('.process.json') ? { ...read(join(REPO, 'bundles', 'default', 'config.json')), process: data } : data;
    seeds.push({ name: `test/fixtures/clients/${file}`, config });
  }
  return seeds;
}

/** TSRUN_FUZZ_SEED, or a fresh one: either way it is printed so that a failure can be replayed. */
export function runSeed(): number {
  const given = process.env.TSRUN_FUZZ_SEED;
  if (given !== undefined && given !== '') {
    const n = Number(given);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`TSRUN_FUZZ_SEED must be an integer in [0, 2^32), got ${JSON.stringify(given)}`);
    return n;
  }
  return Math.floor(Math.random() * 0x100000000);
}

/** TSRUN_FUZZ_CASES, or the default. */
export function caseCount(fallback: number): number {
  const given = process.env.TSRUN_FUZZ_CASES;
  if (given === undefined || given === '') return fallback;
  const n = Number(given);
  if (!Number.isInteger(n) || n < 1) throw new Error(`TSRUN_FUZZ_CASES must be a positive integer, got ${JSON.stringify(given)}`);
  return n;
}
