/**
 * The deployable code package: `dist/` as one zip whose bytes depend only on the files' names and contents (sorted
 * entries, a fixed 1980-01-01 timestamp, mode 0644, deflate), so the same build gives the same zip and the same
 * CRC-64. s.yaml's `code:` names this zip: fc3 0.1.22 uploads a `.zip` as it is (`_assertNeedZip`), and skips the
 * upload when FC's `codeChecksum` already equals the zip's CRC-64, as it does on FC. The read-back after a deploy
 * compares FC's `codeChecksum` with this file's (deploy/verify.ts): a zip fc3 made itself would carry the time of
 * the deploy in every entry, and nobody could say afterwards what FC should hold.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { crc64 } from './crc64.js';

/** Where s.yaml's `code:` points (relative to the project root). */
export const CODE_ZIP = 'dist.zip';
/** What goes in it. */
export const CODE_DIR = 'dist';

const CRC32_TABLE = new Int32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

/** The zip format's CRC-32 (zlib.crc32 needs Node 20.15; engines says >=20). */
function crc32(data: Uint8Array): number {
  let crc = -1;
  for (const byte of data) crc = (CRC32_TABLE[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

/** 1980-01-01 00:00 in MS-DOS form, the earliest a zip can say: no build time leaks into the bytes. */
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
const UTF8_NAMES = 0x0800;
const DEFLATE = 8;
const VERSION = 20;
const MADE_BY_UNIX = (3 << 8) | VERSION;
const REGULAR_FILE_0644 = (0o100644 << 16) >>> 0;

export interface ZipEntry {
  readonly name: string;
  readonly data: Uint8Array;
}

/** A zip of `entries` (names use `/`), byte-for-byte the same for the same entries in any order. */
export function zipEntries(entries: readonly ZipEntry[]): Buffer {
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of sorted) {
    const name = Buffer.from(entry.name, 'utf8');
    const compressed = deflateRawSync(entry.data, { level: 9 });
    const crc = crc32(entry.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(VERSION, 4);
    local.writeUInt16LE(UTF8_NAMES, 6);
    local.writeUInt16LE(DEFLATE, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(entry.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(MADE_BY_UNIX, 4);
    central.writeUInt16LE(VERSION, 6);
    central.writeUInt16LE(UTF8_NAMES, 8);
    central.writeUInt16LE(DEFLATE, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(entry.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    // extra, comment, disk, internal attributes: 0
    central.writeUInt32LE(REGULAR_FILE_0644, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, compressed);
    centrals.push(central, name);
    offset += local.length + name.length + compressed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(sorted.length, 8);
  end.writeUInt16LE(sorted.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** Every file under `dir`, named relative to it with `/`. */
function filesUnder(dir: string, prefix = ''): ZipEntry[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return filesUnder(path, `${prefix}${name}/`);
    return [{ name: `${prefix}${name}`, data: readFileSync(path) }];
  });
}

export interface CodePackage {
  readonly path: string;
  readonly files: readonly string[];
  readonly bytes: number;
  /** CRC-64/ECMA-182, as FC's `codeChecksum`. */
  readonly checksum: string;
}

/** Writes `<root>/dist.zip` from `<root>/dist` (after `npm run build`); throws when there is nothing to package. */
export function writeCodePackage(root = process.cwd()): CodePackage {
  let entries: ZipEntry[];
  try {
    entries = filesUnder(join(root, CODE_DIR));
  } catch {
    throw new Error(`no ${CODE_DIR}/ to package: run npm run build first`);
  }
  if (!entries.some((entry) => entry.name === 'index.js')) {
    throw new Error(`${CODE_DIR}/index.js is missing: run npm run build first`);
  }
  const zip = zipEntries(entries);
  const path = join(root, CODE_ZIP);
  writeFileSync(path, zip);
  return { path, files: entries.map((entry) => entry.name).sort(), bytes: zip.length, checksum: crc64(zip) };
}

/** The checksum FC should hold after a deploy: the CRC-64 of the zip s.yaml's `code:` names. */
export function codePackageChecksum(root = process.cwd()): string {
  try {
    return crc64(readFileSync(join(root, CODE_ZIP)));
  } catch {
    throw new Error(`${CODE_ZIP} is missing: the deploy packages it (deploy-cli.ts package) before fc3 runs`);
  }
}
