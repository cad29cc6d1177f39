/**
 * The offline guard (tests/fixtures/offline-guard.cjs) that every real `s` run is started with: each way a Node
 * process can ask DNS is refused before a query is sent, and noted. The probes are built so that a broken guard still
 * sends nothing off this machine: a numeric address for getaddrinfo (answered locally), and c-ares pointed at a
 * closed loopback port.
 */

import { deepStrictEqual } from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { promisify } from 'node:util';

const PROBE = `
const dns = require('node:dns');
const settle = (promise) => promise.then((value) => 'answered ' + JSON.stringify(value), (error) => error.message);
const callback = (call) => new Promise((resolve) => call((error, value) => resolve(error ? error.message : 'answered ' + JSON.stringify(value))));
(async () => {
  dns.setServers(['127.0.0.1:9']);
  const resolver = new dns.promises.Resolver();
  resolver.setServers(['127.0.0.1:9']);
  const results = {
    promiseLookup: await settle(dns.promises.lookup('192.0.2.1')),
    promiseLoopback: await settle(dns.promises.lookup('127.0.0.1')),
    promiseResolver: await settle(resolver.resolve4('flow-preview.invalid')),
    promiseResolve: await settle(dns.promises.resolveTxt('flow-preview.invalid')),
    callbackResolve: await callback((done) => dns.resolve4('flow-preview.invalid', done)),
    callbackLookup: await callback((done) => dns.lookup('192.0.2.1', done)),
  };
  process.stdout.write(JSON.stringify(results));
})();
`;

it('refuses every DNS lookup and query that is not loopback, before it is sent, and notes who asked', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flow-preview-guard-'));
  try {
    const log = join(dir, 'guard.log');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--require', join(process.cwd(), 'tests/fixtures/offline-guard.cjs'), '-e', PROBE],
      { env: { PATH: process.env['PATH'] ?? '', OFFLINE_GUARD_LOG: log }, timeout: 30_000 },
    );
    deepStrictEqual(JSON.parse(stdout), {
      promiseLookup: 'getaddrinfo ENOTFOUND 192.0.2.1 (offline guard)',
      promiseLoopback: 'answered {"address":"127.0.0.1","family":4}',
      promiseResolver: 'query ENOTFOUND flow-preview.invalid (offline guard)',
      promiseResolve: 'query ENOTFOUND flow-preview.invalid (offline guard)',
      callbackResolve: 'query ENOTFOUND flow-preview.invalid (offline guard)',
      callbackLookup: 'getaddrinfo ENOTFOUND 192.0.2.1 (offline guard)',
    });
    deepStrictEqual(
      readFileSync(log, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split(' <- ')[0]),
      [
        'lookup 192.0.2.1',
        'resolve4 flow-preview.invalid',
        'resolveTxt flow-preview.invalid',
        'resolve4 flow-preview.invalid',
        'lookup 192.0.2.1',
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
