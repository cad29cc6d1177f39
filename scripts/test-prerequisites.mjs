// What `npm test` needs beyond node_modules: Debian's redis-server (the Redis tests start their own) and Chromium
// (the example page's browser test). Installed here when this machine can (root with apt-get), as CI and a fresh
// machine both run it; otherwise npm test stops at once with the exact command to run. Plain JavaScript: it runs
// before anything else, with nothing but Node.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const NEEDED = [
  {
    binary: '/usr/bin/redis-server',
    pkg: 'redis-server',
    why: 'the Redis/Tair fleet tests start a private redis-server',
  },
  { binary: '/usr/bin/chromium', pkg: 'chromium', why: 'the example page is tested in a real browser' },
];

const missing = NEEDED.filter(({ binary }) => !existsSync(binary));
if (missing.length === 0) process.exit(0);

const packages = missing.map(({ pkg }) => pkg).join(' ');
const command = `apt-get update && apt-get install -y ${packages}`;
for (const { pkg, why } of missing) process.stdout.write(`npm test needs ${pkg}: ${why}.\n`);

const canInstall = process.getuid?.() === 0 && existsSync('/usr/bin/apt-get');
if (!canInstall) {
  process.stderr.write(`\nInstall it, then run npm test again:\n  sudo sh -c '${command}'\n`);
  process.exit(1);
}

process.stdout.write(`Installing with: ${command}\n`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
for (const args of [
  ['update', '-qq'],
  ['install', '-y', '-qq', ...missing.map(({ pkg }) => pkg)],
]) {
  const result = spawnSync('apt-get', args, { stdio: 'inherit', env });
  if (result.status !== 0) {
    process.stderr.write(
      `\napt-get ${args[0]} failed (exit ${result.status}); run it yourself:\n  ${command}\n`,
    );
    process.exit(1);
  }
}
const still = NEEDED.filter(({ binary }) => !existsSync(binary));
if (still.length > 0) {
  process.stderr.write(`Still missing after the install: ${still.map(({ binary }) => binary).join(', ')}\n`);
  process.exit(1);
}
