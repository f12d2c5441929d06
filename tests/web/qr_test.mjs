// The pages' QR encoder (clients/web/common/qr.js) against a real decoder: each text — payment
// codes of every length a device number gives, an activation code, a URL, Chinese in UTF-8 — is
// drawn as an image and read back with Debian's zbarimg (zbar-tools); the read text must be the
// text. Also: the smallest version that holds it, and a text too long is refused.
//
// usage: node qr_test.mjs QR_JS WORK_DIR
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import assert from 'node:assert/strict';

const [qrJs, work] = process.argv.slice(2);
mkdirSync(work, { recursive: true });
const { qrModules } = await import(pathToFileURL(qrJs));

// A plain PBM image: 4 modules of quiet zone, each module `scale` pixels.
function pbm(modules, scale = 6) {
  const size = (modules.length + 8) * scale;
  const rows = [];
  for (let py = 0; py < size; py += 1) {
    const y = Math.floor(py / scale) - 4;
    let row = '';
    for (let px = 0; px < size; px += 1) {
      const x = Math.floor(px / scale) - 4;
      row += y >= 0 && y < modules.length && x >= 0 && x < modules.length && modules[y][x] ? '1' : '0';
    }
    rows.push(row);
  }
  return `P1\n${size} ${size}\n${rows.join('\n')}\n`;
}

const texts = [
  '14' + '0' + '482019375521',          // a payment code: device 14, index 0
  '9' + '7' + '000000000001',           // the shortest (one-digit device number)
  '1234567890123456789' + '9' + '999999999999',  // the longest: a 19-digit device number
  '7K3M-Q9XD-2HVA-R4TW',                // an activation code (alphanumeric)
  'https://lovebank.example/app/',      // bytes
  '韦蕊 V00001 爱心银行',                // UTF-8
  'https://lovebank-nanxi.example.cn:8443/app/#code=7K3M-Q9XD-2HVA-R4TW',  // an activation link
  'x'.repeat(100),                      // version 6's most in bytes is 106
];
for (const [i, text] of texts.entries()) {
  const modules = qrModules(text);
  const file = join(work, `qr-${i}.pbm`);
  writeFileSync(file, pbm(modules));
  // QR only: with every symbology on, zbar can also read a 1D barcode out of the QR's modules.
  const read = execFileSync('/usr/bin/zbarimg', ['--raw', '-q', '-Sdisable', '-Sqrcode.enable', file],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).replace(/\n$/, '');
  assert.equal(read, text, `QR ${i} (${modules.length}x${modules.length}) reads "${read}"`);
}
assert.equal(qrModules('140482019375521').length, 21, 'a payment code fits version 1');
assert.equal(qrModules('7K3M-Q9XD-2HVA-R4TW').length, 21, 'an activation code fits version 1');
assert.equal(qrModules('x'.repeat(100)).length, 41, '100 bytes take version 6');
assert.throws(() => qrModules('x'.repeat(107)), /too long/);
console.log(`qr: ${texts.length} texts drawn and read back by zbarimg`);
