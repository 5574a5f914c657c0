#!/usr/bin/env node
'use strict';
// Packages the extension as a .vsix without npm or vsce: `node package-vsix.js [OUT.vsix]`
// (default advlens-<version>.vsix here). A .vsix is a zip (Open Packaging Conventions) of
//   [Content_Types].xml       the MIME type of every file extension inside
//   extension.vsixmanifest    identity, engine and assets, from package.json
//   extension/...             package.json, the code (FILES), README.md and LICENSE.txt
// Entries are stored (not compressed): every zip reader, VS Code's included, reads them.
const fs = require('fs');
const path = require('path');

const dir = __dirname;
// The code the extension runs (package.json's main and what it requires), then the docs.
const FILES = ['package.json', 'extension.js', 'jsonrpc.js', 'models.js', 'png.js', 'webview.js', 'README.md'];
const TYPES = { json: 'application/json', js: 'application/javascript', md: 'text/markdown', txt: 'text/plain',
  vsixmanifest: 'text/xml', xml: 'text/xml', png: 'image/png' };

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xFFFFFFFF;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xFF] ^ (c >>> 8);
  return (c ^ 0xFFFFFFFF) >>> 0;
}

// Every entry's date: 1980-01-01 (the earliest a zip holds), so one source makes one archive.
const DOS_DATE = (0 << 9) | (1 << 5) | 1;

// A zip of `entries` ([name, Buffer]), stored, with the central directory at the end.
function zip(entries) {
  const parts = [], central = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const nameBuf = Buffer.from(name, 'utf8'), crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt16LE(0x0800, 6); local.writeUInt16LE(0, 8);
    local.writeUInt16LE(0, 10); local.writeUInt16LE(DOS_DATE, 12); local.writeUInt32LE(crc, 14); local.writeUInt32LE(data.length, 18); local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBuf.length, 26); local.writeUInt16LE(0, 28);
    const record = Buffer.alloc(46);
    record.writeUInt32LE(0x02014b50, 0); record.writeUInt16LE(20, 4); record.writeUInt16LE(20, 6); record.writeUInt16LE(0x0800, 8);
    record.writeUInt16LE(0, 10); record.writeUInt16LE(0, 12); record.writeUInt16LE(DOS_DATE, 14); record.writeUInt32LE(crc, 16); record.writeUInt32LE(data.length, 20);
    record.writeUInt32LE(data.length, 24); record.writeUInt16LE(nameBuf.length, 28); record.writeUInt32LE(offset, 42);
    parts.push(local, nameBuf, data);
    central.push(record, nameBuf);
    offset += 30 + nameBuf.length + data.length;
  }
  const centralBuf = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(entries.length, 8); end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralBuf.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, centralBuf, end]);
}

const xml = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function vsixManifest(m) {
  return `<?xml version="1.0" encoding="utf-8"?>
<PackageManifest Version="2.0.0" xmlns="http://schemas.microsoft.com/developer/vsx-schema/2011" xmlns:d="http://schemas.microsoft.com/developer/vsx-schema-design/2011">
  <Metadata>
    <Identity Language="en-US" Id="${xml(m.name)}" Version="${xml(m.version)}" Publisher="${xml(m.publisher)}" />
    <DisplayName>${xml(m.displayName || m.name)}</DisplayName>
    <Description xml:space="preserve">${xml(m.description || '')}</Description>
    <Tags>${xml((m.keywords || []).join(','))}</Tags>
    <Categories>${xml((m.categories || []).join(','))}</Categories>
    <GalleryFlags>Public</GalleryFlags>
    <Properties>
      <Property Id="Microsoft.VisualStudio.Code.Engine" Value="${xml(m.engines.vscode)}" />
      <Property Id="Microsoft.VisualStudio.Code.ExtensionDependencies" Value="" />
      <Property Id="Microsoft.VisualStudio.Code.ExtensionPack" Value="" />
      <Property Id="Microsoft.VisualStudio.Code.ExtensionKind" Value="workspace" />
      <Property Id="Microsoft.VisualStudio.Services.Links.Source" Value="${xml(m.repository.url)}" />
    </Properties>
    <License>extension/LICENSE.txt</License>
  </Metadata>
  <Installation>
    <InstallationTarget Id="Microsoft.VisualStudio.Code" />
  </Installation>
  <Dependencies />
  <Assets>
    <Asset Type="Microsoft.VisualStudio.Code.Manifest" Path="extension/package.json" Addressable="true" />
    <Asset Type="Microsoft.VisualStudio.Services.Content.Details" Path="extension/README.md" Addressable="true" />
    <Asset Type="Microsoft.VisualStudio.Services.Content.License" Path="extension/LICENSE.txt" Addressable="true" />
  </Assets>
</PackageManifest>
`;
}

function contentTypes(names) {
  const exts = [...new Set(names.map((n) => path.extname(n).slice(1).toLowerCase()).concat(['vsixmanifest']))].sort();
  for (const e of exts) if (!TYPES[e]) throw new Error(`no content type for .${e}`);
  return `<?xml version="1.0" encoding="utf-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
${exts.map((e) => `  <Default Extension=".${e}" ContentType="${TYPES[e]}" />`).join('\n')}
</Types>
`;
}

// The .vsix as a Buffer; throws naming what package.json or the directory lacks.
function build() {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  for (const key of ['name', 'version', 'publisher', 'license', 'repository', 'engines', 'main']) {
    if (!manifest[key]) throw new Error(`package.json: ${key} is missing`);
  }
  if (!manifest.repository.url) throw new Error('package.json: repository.url is missing');
  if (!fs.existsSync(path.join(dir, 'LICENSE'))) throw new Error('LICENSE is missing beside package.json');
  const files = FILES.map((f) => [`extension/${f}`, fs.readFileSync(path.join(dir, f))]);
  files.push(['extension/LICENSE.txt', fs.readFileSync(path.join(dir, 'LICENSE'))]);
  const names = files.map(([n]) => n);
  return {
    manifest,
    data: zip([['[Content_Types].xml', Buffer.from(contentTypes(names))], ['extension.vsixmanifest', Buffer.from(vsixManifest(manifest))],
      ...files]),
  };
}

if (require.main === module) {
  const { manifest, data } = build();
  const out = path.resolve(process.argv[2] || path.join(dir, `${manifest.name}-${manifest.version}.vsix`));
  fs.writeFileSync(out, data);
  console.log(`${out}: ${data.length} bytes (install: code --install-extension ${path.basename(out)})`);
}

module.exports = { build, crc32, FILES };
