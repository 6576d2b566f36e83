// Builds an OCI image archive (an image layout in one tar: oci-layout, index.json, blobs) from a
// root filesystem directory, so containerd and podman can import the default bundle's rootfs with
// no registry. One uncompressed layer; every entry owned by root, in a stable order.
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pack, type Header } from 'tar-stream';

export interface ImageConfig {
  cmd: string[];
  env: string[];
}

const MEDIA = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar',
};

/** Writes an OCI image archive of `rootfs` named `reference` (e.g. localhost/tsrun-test:latest). */
export async function writeOciArchive(rootfs: string, reference: string, out: string, image: ImageConfig): Promise<void> {
  const layer = await tarOf(treeEntries(rootfs));
  const layerDigest = sha256(layer);
  const config = json({
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: image.cmd, Env: image.env, WorkingDir: '/' },
    rootfs: { type: 'layers', diff_ids: [layerDigest] },
  });
  const manifest = json({
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    config: descriptor(MEDIA.config, config),
    layers: [descriptor(MEDIA.layer, layer)],
  });
  const index = json({
    schemaVersion: 2,
    manifests: [
      {
        ...descriptor(MEDIA.manifest, manifest),
        annotations: { 'io.containerd.image.name': reference, 'org.opencontainers.image.ref.name': reference },
      },
    ],
  });
  const blob = (data: Buffer) => ({ header: { name: `blobs/sha256/${sha256(data).slice(7)}` }, data });
  writeFileSync(
    out,
    await tarOf([
      { header: { name: 'oci-layout' }, data: json({ imageLayoutVersion: '1.0.0' }) },
      { header: { name: 'index.json' }, data: index },
      { header: { name: 'blobs', type: 'directory' } },
      { header: { name: 'blobs/sha256', type: 'directory' } },
      blob(layer),
      blob(config),
      blob(manifest),
    ]),
  );
}

interface Entry {
  header: Partial<Header> & { name: string };
  data?: Buffer;
}

function* treeEntries(root: string, relative = ''): Generator<Entry> {
  for (const name of readdirSync(join(root, relative)).sort()) {
    const path = join(relative, name);
    const stat = lstatSync(join(root, path));
    const header = { name: path, mode: stat.mode & 0o7777, uid: 0, gid: 0, mtime: new Date(0) };
    if (stat.isDirectory()) {
      yield { header: { ...header, type: 'directory' } };
      yield* treeEntries(root, path);
    } else if (stat.isSymbolicLink()) {
      yield { header: { ...header, type: 'symlink', linkname: readlinkSync(join(root, path)) } };
    } else if (stat.isFile()) {
      yield { header, data: readFileSync(join(root, path)) };
    }
  }
}

function tarOf(entries: Iterable<Entry>): Promise<Buffer> {
  const tar = pack();
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    tar.on('data', (chunk) => chunks.push(chunk as Buffer));
    tar.on('end', () => resolve(Buffer.concat(chunks)));
    tar.on('error', reject);
  });
  for (const { header, data } of entries) {
    if (data) tar.entry(header, data);
    else tar.entry(header);
  }
  tar.finalize();
  return done;
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const descriptor = (mediaType: string, data: Buffer) => ({ mediaType, digest: sha256(data), size: data.length });
