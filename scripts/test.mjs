// Runs every test file under test/ with node's test runner and the tsx loader.
// Node 20's --test does not expand globs or find .ts files, so we list them here.
// Usage: node scripts/test.mjs [filter]   (filter: substring of the test file path)
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filter = process.argv[2];
const files = walk('test').filter((f) => !filter || f.includes(filter));
if (files.length === 0) {
  console.error(`no test files match ${filter ?? '(any)'}`);
  process.exit(1);
}
const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
  stdio: 'inherit',
});
process.exit(res.status ?? 1);
