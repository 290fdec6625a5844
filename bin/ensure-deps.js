#!/usr/bin/env node
// Makes `npm run demo` and `npm test` work on a fresh clone: installs node_modules from the lock
// file when they are missing or older than it. Plain Node, no dependencies, because it runs before
// any are installed. Inputs: package-lock.json. Output: node_modules/. Exit 1 if the install fails.
//
// `npm ci`: exactly the lock's versions, and the lock is never rewritten, so a fresh clone stays
// clean after its first `npm test` (CI checks that). The lock lists the platform binaries that
// optional dependencies need (@swc/core-*), so `npm ci` installs the one this machine needs.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const lock = path.join(root, 'package-lock.json');
const installed = path.join(root, 'node_modules', '.package-lock.json');

const stale = !fs.existsSync(installed) || fs.statSync(installed).mtimeMs < fs.statSync(lock).mtimeMs;
if (stale) {
  process.stderr.write('installing dependencies (npm ci)…\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const res = spawnSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (res.status !== 0) {
    process.stderr.write('error [STS_PREREQUISITE_MISSING]: npm ci failed\nfix: check that the npm registry is reachable, then rerun\n');
    process.exit(1);
  }
}

// `--browser`: the dashboard tests drive Debian's Chromium. Installed here when missing and the
// machine can (root with apt-get); otherwise one line says how, and the tests that need it fail
// with the same advice.
if (process.argv.includes('--browser') && !process.env.STS_CHROMIUM && !fs.existsSync('/usr/bin/chromium')) {
  const canApt = typeof process.getuid === 'function' && process.getuid() === 0 && fs.existsSync('/usr/bin/apt-get');
  if (canApt) {
    process.stderr.write('installing Chromium for the dashboard tests (apt-get install chromium)…\n');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const res = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { stdio: 'inherit', env });
    if (res.status !== 0) spawnSync('sh', ['-c', 'apt-get update && apt-get install -y --no-install-recommends chromium'], { stdio: 'inherit', env });
  }
  if (!fs.existsSync('/usr/bin/chromium')) {
    process.stderr.write('warning [STS_PREREQUISITE_MISSING]: Chromium is not installed; the dashboard tests will fail\nfix: sudo apt-get install chromium, or set STS_CHROMIUM to a Chromium binary\n');
  }
}

// `--monitoring`: the monitoring tests check the Prometheus rules with promtool, from Debian's
// `prometheus` package. Installing that package also installs a Prometheus server as a service,
// which would take port 9090 on this machine: the install runs under a policy-rc.d that refuses
// to start services, and the service is disabled afterwards, so only the promtool binary is used.
if (process.argv.includes('--monitoring') && !onPath('promtool')) {
  const canApt = typeof process.getuid === 'function' && process.getuid() === 0 && fs.existsSync('/usr/bin/apt-get');
  if (canApt) {
    process.stderr.write('installing promtool for the monitoring tests (apt-get install prometheus, service left stopped)…\n');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const policy = '/usr/sbin/policy-rc.d';
    const ownPolicy = !fs.existsSync(policy);
    if (ownPolicy) fs.writeFileSync(policy, '#!/bin/sh\n# written by sts bin/ensure-deps.js for one apt-get install\nexit 101\n', { mode: 0o755 });
    try {
      const install = ['install', '-y', '--no-install-recommends', 'prometheus'];
      const res = spawnSync('apt-get', install, { stdio: 'inherit', env });
      if (res.status !== 0) spawnSync('sh', ['-c', `apt-get update && apt-get ${install.join(' ')}`], { stdio: 'inherit', env });
    } finally {
      if (ownPolicy) fs.rmSync(policy, { force: true });
    }
    // Enabled by the package, it would start at the next boot.
    if (onPath('systemctl')) spawnSync('systemctl', ['disable', '--now', 'prometheus'], { stdio: 'ignore' });
    else if (onPath('update-rc.d')) spawnSync('update-rc.d', ['prometheus', 'disable'], { stdio: 'ignore' });
  }
  if (!onPath('promtool')) {
    process.stderr.write('warning [STS_PREREQUISITE_MISSING]: promtool is not installed; the monitoring rules test will fail\nfix: sudo apt-get install --no-install-recommends prometheus (then: sudo systemctl disable --now prometheus), or put promtool on PATH\n');
  }
}

function onPath(binary, extraDirs = []) {
  return [...(process.env.PATH ?? '').split(path.delimiter), ...extraDirs].some((dir) => dir && fs.existsSync(path.join(dir, binary)));
}

// `--db-cluster`: the Galera test (and STS_MYSQL_NODES=3) runs MariaDB nodes with Debian's galera-4
// provider, mariabackup over socat for their state transfers (rsync's would run its daemon as
// `nobody` under root, which cannot write our data directories) and HAProxy in front. Installing
// haproxy also installs an HAProxy service listening by its default config: the install runs
// under a policy-rc.d that refuses to start services and the service is disabled afterwards, so
// only the binary is used, with the config `sts up` writes.
const GALERA_PROVIDER = '/usr/lib/galera/libgalera_smm.so';
const dbClusterReady = () => fs.existsSync(GALERA_PROVIDER) && onPath('haproxy', ['/usr/sbin']) && onPath('mariabackup') && onPath('socat');
if (process.argv.includes('--db-cluster') && !dbClusterReady()) {
  const canApt = typeof process.getuid === 'function' && process.getuid() === 0 && fs.existsSync('/usr/bin/apt-get');
  if (canApt) {
    process.stderr.write('installing the Galera cluster tools (apt-get install galera-4 haproxy mariadb-backup socat, services left stopped)…\n');
    aptInstallWithoutServices(['galera-4', 'haproxy', 'mariadb-backup', 'socat']);
    if (onPath('systemctl')) spawnSync('systemctl', ['disable', '--now', 'haproxy'], { stdio: 'ignore' });
    else if (onPath('update-rc.d')) spawnSync('update-rc.d', ['haproxy', 'disable'], { stdio: 'ignore' });
  }
  if (!dbClusterReady()) {
    process.stderr.write('warning [STS_PREREQUISITE_MISSING]: galera-4, haproxy, mariadb-backup or socat is not installed; the Galera cluster test and STS_MYSQL_NODES>1 will fail\nfix: sudo apt-get install --no-install-recommends galera-4 haproxy mariadb-backup socat (then: sudo systemctl disable --now haproxy)\n');
  }
}

/** apt-get install under a policy-rc.d that refuses to start services; apt-get update on a miss. */
function aptInstallWithoutServices(packages) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !fs.existsSync(policy);
  if (ownPolicy) fs.writeFileSync(policy, '#!/bin/sh\n# written by sts bin/ensure-deps.js for one apt-get install\nexit 101\n', { mode: 0o755 });
  try {
    const install = ['install', '-y', '--no-install-recommends', ...packages];
    const res = spawnSync('apt-get', install, { stdio: 'inherit', env });
    if (res.status !== 0) spawnSync('sh', ['-c', `apt-get update && apt-get ${install.join(' ')}`], { stdio: 'inherit', env });
  } finally {
    if (ownPolicy) fs.rmSync(policy, { force: true });
  }
}
