#!/usr/bin/env node
// Makes `npm run demo` and `npm test` work on a fresh clone: installs node_modules from the lock
// file when they are missing or older than it. Plain Node, no dependencies, because it runs before
// any are installed. Inputs: package-lock.json. Output: node_modules/. Exit 1 if the install fails.
//
// `npm install`, not `npm ci`: the registry these machines use publishes metadata without the
// optional platform binaries (@swc/core-*, unrs-resolver bindings), so the lock never lists them
// and `npm ci` refuses the lock as out of sync. `npm install` honours the lock's versions and
// fetches the one binary this platform needs.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const lock = path.join(root, 'package-lock.json');
const installed = path.join(root, 'node_modules', '.package-lock.json');

const stale = !fs.existsSync(installed) || fs.statSync(installed).mtimeMs < fs.statSync(lock).mtimeMs;
if (stale) {
  process.stderr.write('installing dependencies (npm install)…\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const res = spawnSync(npm, ['install', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (res.status !== 0) {
    process.stderr.write('error [STS_PREREQUISITE_MISSING]: npm install failed\nfix: check that the npm registry is reachable, then rerun\n');
    process.exit(1);
  }
}
