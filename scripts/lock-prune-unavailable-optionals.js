#!/usr/bin/env node
/**
 * The npm registry reachable from this workplace serves only the Linux builds of packages that ship
 * native binaries as per-platform optional dependencies (@swc/core-*, msgpackr-extract-*, ...).
 * `npm install` then writes a lockfile without the other platforms' entries, and `npm ci` rejects
 * that lockfile as out of sync. This drops, from each package's optionalDependencies in the lock,
 * the ones npm could not resolve (no `node_modules/<name>` entry), which is what npm would have
 * recorded had those platforms not existed. Run it after `npm install`: `npm run lock:prune`.
 */
const fs = require('node:fs');
const path = require('node:path');

const file = path.join(__dirname, '..', 'package-lock.json');
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const present = (name) =>
  Object.keys(lock.packages).some((p) => p === `node_modules/${name}` || p.endsWith(`/node_modules/${name}`));
let pruned = 0;
for (const entry of Object.values(lock.packages)) {
  if (!entry.optionalDependencies) continue;
  for (const name of Object.keys(entry.optionalDependencies)) {
    if (!present(name)) {
      delete entry.optionalDependencies[name];
      pruned++;
    }
  }
  if (Object.keys(entry.optionalDependencies).length === 0) delete entry.optionalDependencies;
}
fs.writeFileSync(file, JSON.stringify(lock, null, 2) + '\n');
process.stdout.write(`pruned ${pruned} unresolvable optional dependencies from package-lock.json\n`);
