// The verification page's checks (clients/web/verify/proof.js) against a ledger built here by a
// model of its own (node:crypto, RFC 6962's recursive MTH and PATH, not the RFC 9162 loop the page
// runs): every entry of every tree of 1 to 33 leaves verifies; every kind of lying proof is refused
// with its own reason — a path cut short, empty or too long, a path to another root, an edited
// record, a payload of another seq, an entry twice, an entry with a key too many, too many
// entries, an edited head, another key; the canonical JSON is nlohmann's dump() byte for byte; a
// certificate — its proof hash-only, exactly its activities' entries — verifies, and each edit
// (re-signed or not) is refused: an entry carrying its record or a key too many, an entry that is
// not a listed activity, an activity or entry twice, a hash that is not in the tree; the page's
// data element verifies only as lovebank writes it (canonical JSON, < > & escaped), any other
// writing of the same data (13.0, spaces, keys reordered or repeated) is refused, and a page whose
// visible text was edited still yields the genuine data. A certificate's QR summary, built here as
// lovebankd writes it, verifies (up to exactly 4,096 bytes) and yields its fields; each of these is
// refused with its own reason: a byte of the summary edited (every byte, and 300 seeded edits of
// the text), another key's signature, the certificate's context signed instead, a signature cut
// short or too long, a key too many or too few, a wrong type or format (signed), another writing
// of the same fields (signed), bad base64url, 4,097 bytes, a wrong prefix, not two parts.
//
// usage: node proof_test.mjs PROOF_JS
import { createHash, generateKeyPairSync, sign, webcrypto } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import assert from 'node:assert/strict';

globalThis.crypto ??= webcrypto;  // Node 18 has WebCrypto, but not as a global
const [proofJs] = process.argv.slice(2);
const P = await import(pathToFileURL(proofJs));

// ---- the model ------------------------------------------------------------------------------
const H = (...parts) => createHash('sha256').update(Buffer.concat(parts.map((p) => Buffer.from(p)))).digest();
const u64 = (n) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b; };
const i64 = (n) => { const b = Buffer.alloc(8); b.writeBigInt64BE(BigInt(n)); return b; };
const varint = (n) => {
  const out = [];
  let v = BigInt(n);
  do { let byte = Number(v & 0x7fn); v >>= 7n; if (v) byte |= 0x80; out.push(byte); } while (v);
  return Buffer.from(out);
};
// A lovebank.v1.Entry as protobuf writes it: field 1 (seq), then a length-delimited field.
const payloadOf = (seq, memo = `entry ${seq}`) =>
  Buffer.concat([Buffer.from([0x08]), varint(seq), Buffer.from([0x1a, Buffer.byteLength(memo)]), Buffer.from(memo)]);
const split = (n) => { let k = 1; while (k * 2 < n) k *= 2; return k; };
const mth = (leaves) => (leaves.length === 1 ? leaves[0]
  : H([1], mth(leaves.slice(0, split(leaves.length))), mth(leaves.slice(split(leaves.length)))));
const pathOf = (m, leaves) => {
  if (leaves.length === 1) return [];
  const k = split(leaves.length);
  return m < k ? [...pathOf(m, leaves.slice(0, k)), mth(leaves.slice(k))]
    : [...pathOf(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
};
// A journal of `count` entries; `payloads` replaces some entries' payloads (by seq).
function journal(count, payloads = {}) {
  const entries = [];
  let prev = Buffer.alloc(32);
  for (let seq = 1; seq <= count; seq += 1) {
    const payload = payloads[seq] || payloadOf(seq);
    const hash = H(prev, u64(seq), u64(payload.length), payload);
    entries.push({ seq, hash, record: Buffer.concat([Buffer.from([1]), hash, prev, payload]) });
    prev = hash;
  }
  return { entries, leaves: entries.map((e) => H([0], e.hash)) };
}
function keyPair() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return { privateKey, raw: Buffer.from(publicKey.export({ format: 'jwk' }).x, 'base64url') };
}
const ledgerId = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
function head(ledger, size, key, { time = 1795161600000000, signer = key } = {}) {
  const root = mth(ledger.leaves.slice(0, size));
  const message = Buffer.concat([Buffer.from('lovebank/v1/tree-head\0'), ledgerId, u64(size), root, i64(time)]);
  return { ledger_id: ledgerId.toString('hex'), tree_size: size, root: root.toString('hex'),
    time_unix_us: time, public_key: key.raw.toString('hex'),
    signature: sign(null, message, signer.privateKey).toString('hex') };
}
const entryJson = (ledger, seq, size) => ({ seq, record: ledger.entries[seq - 1].record.toString('base64'),
  path: pathOf(seq - 1, ledger.leaves.slice(0, size)).map((h) => h.toString('hex')) });
const bundleOf = (ledger, size, seqs, key, options) => ({ lovebank_proof: 1, head: head(ledger, size, key, options),
  entries: seqs.map((seq) => entryJson(ledger, seq, size)) });
const codes = (checked) => checked.problems.map((p) => p.code);
const clone = (value) => JSON.parse(JSON.stringify(value));

const programme = keyPair();
const other = keyPair();

// ---- fingerprints and path lengths ----------------------------------------------------------
const expected = H(programme.raw).subarray(0, 16).toString('hex').match(/.{4}/g).join(' ');
assert.equal(await P.fingerprint(programme.raw), expected);
assert.equal(expected.length, 39);
assert.equal(P.parseKey(` ${programme.raw.toString('hex').toUpperCase()}\n`).length, 32);
assert.equal(P.parseKey('12'.repeat(31)), null);
assert.equal(P.parseKey('zz'.repeat(32)), null);
for (let size = 1; size <= 70; size += 1) {
  const leaves = Array.from({ length: size }, (_, i) => H([i]));
  for (let index = 0; index < size; index += 1) {
    assert.equal(P.inclusionPathLength(index, size), pathOf(index, leaves).length, `${index} of ${size}`);
  }
}
assert.equal(P.inclusionPathLength(0, 2 ** 48), 48);
assert.equal(P.inclusionPathLength(2 ** 48 - 1, 2 ** 48), 48);
assert.equal(P.inclusionPathLength(2 ** 48 - 2, 2 ** 48 - 1), 47);
const zero = new Uint8Array(32);
assert.equal(await P.verifyInclusion(0, 0, zero, [], zero), 'TREE_SIZE_INVALID');
assert.equal(await P.verifyInclusion(0, 2 ** 48 + 1, zero, [], zero), 'TREE_SIZE_INVALID');
assert.equal(await P.verifyInclusion(5, 5, zero, [zero, zero, zero], zero), 'LEAF_INDEX_INVALID');
assert.equal(await P.verifyInclusion(0, 2 ** 48, zero, [], zero), 'PROOF_LENGTH_INVALID');

// ---- every entry of every small tree --------------------------------------------------------
const big = journal(40);
for (let size = 1; size <= 33; size += 1) {
  const seqs = Array.from({ length: size }, (_, i) => i + 1);
  const checked = await P.verifyBundle(bundleOf(big, size, seqs, programme), programme.raw);
  assert.deepEqual(codes(checked), [], `tree of ${size}`);
  assert.deepEqual(checked.proven.entries.map((e) => e.seq), seqs);
  assert.equal(checked.proven.treeSize, size);
  assert.equal(checked.proven.fingerprint, expected);
  assert.equal(checked.proven.entries[0].hash, big.entries[0].hash.toString('hex'));
}
// A time before 1970 is signed as two's complement.
assert.deepEqual(codes(await P.verifyBundle(bundleOf(big, 7, [3], programme, { time: -5 }), programme.raw)), []);

// ---- lies -------------------------------------------------------------------------------------
const genuine = bundleOf(big, 13, [6], programme);
async function refusedAs(edit, code, key = programme.raw) {
  const bundle = clone(genuine);
  edit(bundle);
  const checked = await P.verifyBundle(bundle, key);
  assert.deepEqual(codes(checked), [code], JSON.stringify(checked.problems));
  return checked.problems[0].text;
}
const path = genuine.entries[0].path;
assert.ok(path.length === 4);
await refusedAs((b) => { b.entries[0].path.pop(); }, 'NOT_IN_LEDGER');  // cut short
await refusedAs((b) => { b.entries[0].path = []; }, 'NOT_IN_LEDGER');    // "trivially true"
await refusedAs((b) => { b.entries[0].path.push(path[0]); }, 'NOT_IN_LEDGER');
await refusedAs((b) => { b.entries[0].path.reverse(); }, 'NOT_IN_LEDGER');  // to another root
await refusedAs((b) => { b.entries[0].path[1] = 'ab'.repeat(31); }, 'NOT_IN_LEDGER');
await refusedAs((b) => { b.entries[0].path = new Array(97).fill(path[0]); }, 'ENTRY_MALFORMED');
assert.match(await refusedAs((b) => { b.entries[0].path[0] = path[0].replace(/^./, (c) => (c === '0' ? '1' : '0')); },
  'NOT_IN_LEDGER'), /不在已签名的账本（共 13 条）中：证明路径算不出签名的根哈希/);
// The same entry and path under the head of another size.
await refusedAs((b) => { b.head = head(big, 12, programme); }, 'NOT_IN_LEDGER');
// The entry of another seq with its own genuine path.
await refusedAs((b) => { b.entries[0] = { ...entryJson(big, 7, 13), seq: 6 }; }, 'RECORD_EDITED');
// An edited record: a byte of the payload, of the stored hash; a record of another version.
const flip = (base64, at) => {
  const bytes = Buffer.from(base64, 'base64');
  assert.ok(at < bytes.length);
  bytes[at] ^= 1;
  return bytes.toString('base64');
};
assert.match(await refusedAs((b) => { b.entries[0].record = flip(b.entries[0].record, 70); }, 'RECORD_EDITED'),
  /第 6 条流水的内容与它的哈希不符/);
await refusedAs((b) => { b.entries[0].record = flip(b.entries[0].record, 5); }, 'RECORD_EDITED');
await refusedAs((b) => { b.entries[0].record = flip(b.entries[0].record, 0); }, 'RECORD_MALFORMED');
await refusedAs((b) => { b.entries[0].record = b.entries[0].record.slice(0, -4); }, 'RECORD_EDITED');
await refusedAs((b) => { b.entries[0].record = b.entries[0].record.slice(0, 84); }, 'RECORD_MALFORMED');  // 63 bytes
await refusedAs((b) => { b.entries[0].record = `${b.entries[0].record}\n`; }, 'RECORD_MALFORMED');
await refusedAs((b) => { b.entries[0].seq = 0; }, 'RECORD_EDITED');
await refusedAs((b) => { b.entries[0].seq = 2.5; }, 'ENTRY_MALFORMED');
await refusedAs((b) => { b.entries[0].note = 'x'; }, 'ENTRY_MALFORMED');  // exactly seq, record, path
await refusedAs((b) => { b.entries[0].hash = big.entries[5].hash.toString('hex'); }, 'ENTRY_MALFORMED');
await refusedAs((b) => { delete b.entries[0].record; b.entries[0].hash = big.entries[5].hash.toString('hex'); },
  'ENTRY_MALFORMED');  // a bundle carries its records: a hash alone is no bundle entry
await refusedAs((b) => { b.entries[0].path[0] = 7; }, 'ENTRY_MALFORMED');
await refusedAs((b) => { b.entries.push(b.entries[0]); }, 'ENTRY_TWICE');
await refusedAs((b) => { b.entries = new Array(12001).fill(b.entries[0]); }, 'TOO_MANY_ENTRIES');
// The head: each signed field edited, the signature of another key, malformed.
assert.match(await refusedAs((b) => { b.head.root = b.head.root.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')); },
  'HEAD_SIGNATURE'), /账本签名无效/);
await refusedAs((b) => { b.head.tree_size = 14; }, 'HEAD_SIGNATURE');
await refusedAs((b) => { b.head.time_unix_us += 1; }, 'HEAD_SIGNATURE');
await refusedAs((b) => { b.head.ledger_id = 'ff'.repeat(16); }, 'HEAD_SIGNATURE');
await refusedAs((b) => { b.head = head(big, 13, programme, { signer: other }); }, 'HEAD_SIGNATURE');
await refusedAs((b) => { b.head.root = b.head.root.slice(2); }, 'HEAD_MALFORMED');
await refusedAs((b) => { b.head.tree_size = '13'; }, 'HEAD_MALFORMED');
const another = await refusedAs((b) => { b.head = head(big, 13, other); }, 'ANOTHER_KEY');
assert.ok(another.includes('另一把公钥') && another.includes(expected) &&
  another.includes(await P.fingerprint(other.raw)), another);
await refusedAs(() => {}, 'ANOTHER_KEY', other.raw);  // a genuine bundle, the wrong key pinned
// A payload of another seq, in the tree with a consistent chain hash: not a lovebank entry of 6.
const odd = journal(13, { 6: payloadOf(7), 8: Buffer.from([0x08]) });
for (const seq of [6, 8]) {
  const checked = await P.verifyBundle(bundleOf(odd, 13, [seq], programme), programme.raw);
  assert.deepEqual(codes(checked), ['PAYLOAD_NOT_ENTRY']);
}
// Each entry refused on its own, the others proven.
const mixed = bundleOf(big, 20, [2, 9, 17], programme);
mixed.entries[1].record = flip(mixed.entries[1].record, 68);
const checkedMixed = await P.verifyBundle(mixed, programme.raw);
assert.deepEqual(codes(checkedMixed), ['RECORD_EDITED']);
assert.deepEqual(checkedMixed.proven.entries.map((e) => e.seq), [2, 17]);
assert.equal(P.payloadSeq(payloadOf(2 ** 40)), 2n ** 40n);
assert.equal(P.payloadSeq(Buffer.from([0x08, 0x80])), null);  // a varint cut short
assert.equal(P.payloadSeq(Buffer.from([0x1a, 0x05, 0x01])), null);  // a length beyond the end

// ---- the canonical JSON: nlohmann::json::dump() ---------------------------------------------
assert.equal(P.canonicalJson({ b: 1, a: 'x\u0001"\\\n\t/é\u007f', c: [true, null, { z: 1, y: -2 }], 'Ａ': 0, '😀': 0, B: '', 10: 0, 9: 0 }),
  String.raw`{"10":0,"9":0,"B":"","a":"x\u0001\"\\\n\t/é` + '\u007f' + String.raw`","b":1,"c":[true,null,{"y":-2,"z":1}],"Ａ":0,"😀":0}`);
assert.throws(() => P.canonicalJson({ a: 1.5 }));
assert.throws(() => P.canonicalJson({ a: 2 ** 60 }));

// ---- certificates ------------------------------------------------------------------------------
// The model's canonical form: keys by their UTF-8 bytes.
const model = (v) => (Array.isArray(v) ? `[${v.map(model).join(',')}]`
  : v && typeof v === 'object' ? `{${Object.keys(v).sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)))
    .map((k) => `${JSON.stringify(k)}:${model(v[k])}`).join(',')}}` : JSON.stringify(v));
function signCertificate(data, key = programme) {
  const { signature, ...rest } = data;
  const message = Buffer.concat([Buffer.from('lovebank/v1/certificate\0'), H(model(rest))]);
  return { ...rest, signature: sign(null, message, key.privateKey).toString('hex') };
}
const hashOf = (seq) => big.entries[seq - 1].hash.toString('hex');
// A certificate's proof entry: hash-only, as lovebankd writes it (clients/proof.cc HashEntryJson).
const hashEntryJson = (seq, size, hash = hashOf(seq)) => ({ seq, hash,
  path: pathOf(seq - 1, big.leaves.slice(0, size)).map((h) => h.toString('hex')) });
const certificate = signCertificate({
  version: 3, proof: { head: head(big, 13, programme), entries: [hashEntryJson(2, 13), hashEntryJson(5, 13)] },
  programme: '南溪镇爱心银行',
  account: 'V00001', name: '韦蕊 <img src=x onerror=alert(1)> & "引号"', from: '', to: '', as_of_seq: 13,
  cumulative_hours: '12.00', star_level: 1, total_hours: '3.50', digest: { seq: 13, hash: hashOf(13) },
  activities: [{ seq: 2, hash: hashOf(2), date: '2026-10-29', name: '重阳节敬老活动', team: '南溪村志愿服务队', hours: '2.5' },
    { seq: 5, hash: hashOf(5), date: '2026-11-02', name: '陪护（互助服务）', team: '', hours: '1.00' }],
});
async function certificateCodes(data, key = programme.raw, options = undefined) {
  return codes(await P.verifyCertificate(data, key, options));
}
const genuineChecked = await P.verifyCertificate(certificate, programme.raw);
assert.deepEqual(codes(genuineChecked), []);
assert.deepEqual(genuineChecked.proven.entries, [{ seq: 2, hash: hashOf(2) }, { seq: 5, hash: hashOf(5) }]);
assert.equal(genuineChecked.proven.treeSize, 13);
const edited = (edit, resign = false) => { const data = clone(certificate); edit(data); return resign ? signCertificate(data) : data; };
assert.deepEqual(await certificateCodes(edited((d) => { d.name = '韦芯'; })), ['CERTIFICATE_SIGNATURE']);
assert.deepEqual(await certificateCodes(edited((d) => { d.activities[0].hours = '3.5'; d.total_hours = '4.50'; })),
  ['CERTIFICATE_SIGNATURE']);
assert.deepEqual(await certificateCodes(edited((d) => { d.star_level = 5; })), ['CERTIFICATE_SIGNATURE']);
assert.deepEqual(await certificateCodes(edited((d) => { d.cumulative_hours = '120.00'; })), ['CERTIFICATE_SIGNATURE']);
assert.deepEqual(await certificateCodes(edited((d) => { d.signature = d.signature.slice(2); })), ['CERTIFICATE_SIGNATURE']);
assert.deepEqual(await certificateCodes(signCertificate(clone(certificate), other)), ['CERTIFICATE_SIGNATURE']);
assert.deepEqual(await certificateCodes(edited((d) => { d.total_hours = '4.50'; }, true)), ['TOTAL_MISMATCH']);
assert.deepEqual(await certificateCodes(edited((d) => { d.activities[1].hours = '1.0.0'; }, true)),
  ['HOURS_INVALID', 'TOTAL_MISMATCH']);
assert.deepEqual(await certificateCodes(edited((d) => { d.as_of_seq = 12; }, true)), ['TREE_SIZE_MISMATCH']);
// An activity whose entry is not in the proof; the proven entry then lists no activity.
assert.deepEqual(await certificateCodes(edited((d) => { d.activities[1].seq = 7; }, true)),
  ['ACTIVITY_NOT_PROVEN', 'ENTRY_NOT_LISTED']);
assert.deepEqual(await certificateCodes(edited((d) => { d.activities[1].hash = hashOf(6); }, true)), ['ACTIVITY_HASH']);
// The same activity listed twice (its hours counted twice, the total to match): refused.
assert.deepEqual(await certificateCodes(edited((d) => { d.activities.push(clone(d.activities[1])); d.total_hours = '4.50'; }, true)),
  ['ACTIVITY_TWICE']);
// An entry proven that is no listed activity (the account's opening, a service's posting): refused.
assert.deepEqual(await certificateCodes(edited((d) => { d.proof.entries.unshift(hashEntryJson(1, 13)); }, true)),
  ['ENTRY_NOT_LISTED']);
assert.match((await P.verifyCertificate(edited((d) => { d.proof.entries.push(hashEntryJson(9, 13)); }, true),
  programme.raw)).problems[0].text, /第 9 条流水不是所列的活动/);
assert.deepEqual(await certificateCodes(edited((d) => { d.proof.entries.push(clone(d.proof.entries[0])); }, true)),
  ['ENTRY_TWICE']);
// A proof entry's hash: not 32 bytes of hex; another entry's hash on this one's path.
assert.deepEqual(await certificateCodes(edited((d) => { d.proof.entries[0].hash = d.proof.entries[0].hash.slice(2); }, true)),
  ['HASH_MALFORMED']);
assert.deepEqual(await certificateCodes(edited((d) => { d.proof.entries[0].hash = 'zz'.repeat(32); }, true)),
  ['HASH_MALFORMED']);
assert.deepEqual(await certificateCodes(edited((d) => {
  d.proof.entries[0].hash = hashOf(3); d.activities[0].hash = hashOf(3);
}, true)), ['NOT_IN_LEDGER']);
// A made-up hash for a made-up activity, on a path of its own: it is in no signed tree.
assert.deepEqual(await certificateCodes(edited((d) => {
  d.proof.entries[1].hash = 'ab'.repeat(32); d.activities[1].hash = 'ab'.repeat(32);
}, true)), ['NOT_IN_LEDGER']);
assert.deepEqual(await certificateCodes(edited((d) => { d.proof.entries[1].path.pop(); }, true)), ['NOT_IN_LEDGER']);
assert.deepEqual(await certificateCodes(edited((d) => { d.proof.head = head(big, 13, other); }, true)), ['ANOTHER_KEY']);
assert.deepEqual(await certificateCodes(edited((d) => { d.proof.head.root = d.proof.head.root.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')); }, true)),
  ['HEAD_SIGNATURE']);
assert.deepEqual(await certificateCodes(certificate, other.raw), ['ANOTHER_KEY']);
assert.deepEqual(await certificateCodes(edited((d) => { d.extra = 1; }, true)), ['CERTIFICATE_MALFORMED']);
assert.deepEqual(await certificateCodes(edited((d) => { delete d.signature; })), ['CERTIFICATE_MALFORMED']);
// Hash-only: an entry carrying its record (as before version 3 went hash-only, or as a bundle
// does), or any key too many or too few, is malformed — re-signed or not.
const recordOf = (seq) => big.entries[seq - 1].record.toString('base64');
for (const edit of [
  (d) => { d.proof.entries[0].record = recordOf(2); },
  (d) => { delete d.proof.entries[0].hash; d.proof.entries[0].record = recordOf(2); },
  (d) => { d.proof.entries[1].memo = '陪同去镇卫生院复查'; },
  (d) => { delete d.proof.entries[1].path; },
  (d) => { d.proof.entries[1].seq = '5'; },
  (d) => { d.proof.entries[1].path = [1]; },
  (d) => { d.proof.entries[1] = [5]; },
]) {
  for (const resign of [false, true]) {
    const checked = await P.verifyCertificate(edited(edit, resign), programme.raw);
    assert.deepEqual(codes(checked), ['CERTIFICATE_MALFORMED'], edit.toString());
    assert.match(checked.problems[0].text, /证明的数据格式不对/);
  }
}
// The hash-only proof as a bundle: not one (bundles carry records), and a bundle's entries are not
// a certificate's.
assert.deepEqual(codes(await P.verifyBundle(certificate.proof, programme.raw)), ['ENTRY_MALFORMED', 'ENTRY_MALFORMED']);
assert.deepEqual(codes(await P.verifyBundle(genuine, programme.raw, { hashOnly: true })), ['ENTRY_MALFORMED']);
assert.deepEqual(codes(await P.verifyBundle(certificate.proof, programme.raw, { hashOnly: true })), []);
// No activities, nothing proven: a certificate of 0 hours still stands on its signature.
assert.deepEqual(await certificateCodes(edited((d) => { d.activities = []; d.proof.entries = []; d.total_hours = '0.00'; }, true)), []);
const version2 = clone(certificate);
delete version2.proof;
delete version2.signature;
version2.version = 2;
assert.deepEqual(await certificateCodes(version2), ['CERTIFICATE_ONLINE_ONLY']);

// The page's data as lovebankd writes it (clients/certificate.cc ScriptJson: nlohmann's dump(),
// keys sorted, then < > & as \u003c \u003e \u0026), and input.
const open = '<script type="application/json" id="lovebank-certificate">';
const scriptJson = (data) => model(data).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
assert.equal(P.scriptJson(certificate), scriptJson(certificate));
assert.ok(scriptJson(certificate).includes('韦蕊 \\u003cimg src=x onerror=alert(1)\\u003e \\u0026 \\"引号\\"'));
const pageOf = (text, name = '韦蕊') =>
  `<!DOCTYPE html>\n<html lang="zh-CN"><body><h1>志愿服务证明</h1>\n<p>兹证明 <b>${name}</b></p>\n${open}${text}</script>\n</body></html>\n`;
const page = pageOf(scriptJson(certificate));
assert.ok(!page.includes('<img'));
const read = P.readInput(page);
assert.equal(read.kind, 'certificate');
assert.deepEqual(read.data, certificate);
assert.equal(read.text, scriptJson(certificate));
assert.deepEqual(await certificateCodes(read.data, programme.raw, { text: read.text }), []);
// The visible text edited, the data left alone: the data (the genuine name) is what verifies.
const forged = P.readInput(pageOf(scriptJson(certificate), '韦芯'));
assert.equal(forged.data.name, certificate.name);
assert.deepEqual(await certificateCodes(forged.data, programme.raw, { text: forged.text }), []);
// The same data written otherwise than lovebank writes it: the signature still verifies over the
// parsed data, but the element was rewritten by someone — refused.
const written = scriptJson(certificate);
const rewrites = [
  written.replace('"as_of_seq":13', '"as_of_seq":13.0'),
  written.replace('"star_level":1', '"star_level":1e0'),
  written.replace('"version":3', '"version": 3'),
  ` ${written}`,
  `${written}\n`,
  written.replace('\\u003cimg', '\\u003Cimg'),
  written.replace('\\u003cimg', '<img'),
  written.replace('\\u0026', '&'),
  written.replace('重阳节', '\\u91cd阳节'),
  written.replace('"account":"V00001"', '"account":"V00002","account":"V00001"'),
  JSON.stringify(certificate).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026'),
  JSON.stringify(JSON.parse(written), null, 1),
];
for (const text of rewrites) {
  assert.notEqual(text, written);
  const input = P.readInput(pageOf(text));
  assert.equal(input.kind, 'certificate', text);
  assert.deepEqual(input.data, certificate, text);  // the same data, parsed
  assert.deepEqual(await certificateCodes(input.data, programme.raw), [], text);
  const checked = await P.verifyCertificate(input.data, programme.raw, { text: input.text });
  assert.deepEqual(codes(checked), ['DATA_REWRITTEN'], text);
  assert.match(checked.problems[0].text, /证明数据被改写过/);
}
// A name edited in the data itself (written as lovebank would): the signature says so.
const renamed = P.readInput(pageOf(scriptJson({ ...certificate, name: '韦芯' })));
assert.deepEqual(await certificateCodes(renamed.data, programme.raw, { text: renamed.text }), ['CERTIFICATE_SIGNATURE']);
assert.equal(P.readInput(`\uFEFF${JSON.stringify(certificate)}`).kind, 'certificate');
assert.equal(P.readInput(page.replace('</body>', `${open}{}</script></body>`)).problem.code, 'CERTIFICATE_MALFORMED');
assert.equal(P.readInput(page.replace('</script>', '')).problem.code, 'CERTIFICATE_MALFORMED');
assert.equal(P.readInput(JSON.stringify(genuine, null, 1)).kind, 'bundle');
assert.equal(P.readInput(JSON.stringify({ ...genuine, lovebank_proof: 2 })).problem.code, 'BUNDLE_VERSION');
assert.equal(P.readInput('{"head": 1').problem.code, 'NOT_A_PROOF');
assert.equal(P.readInput('<html>hello</html>').problem.code, 'NOT_A_PROOF');

// ---- a certificate's QR summary -----------------------------------------------------------------
// Written here as lovebankd writes it (clients/certificate.cc): "LB1." base64url(summary) "."
// base64url(Ed25519 over "lovebank/v1/certificate-summary" 0x00 ‖ summary), no padding, the summary
// in the model's canonical form.
const SUMMARY_CONTEXT = Buffer.from('lovebank/v1/certificate-summary\0');
const without = (object, key) => { const copy = { ...object }; delete copy[key]; return copy; };
const summaryFields = { account: 'V00001', activities: 2, as_of_seq: 13, cumulative_hours: '12.00',
  data_sha256: H(model(without(certificate, 'signature'))).toString('hex'), from: '2026-10-01',
  ledger_id: ledgerId.toString('hex'), name: certificate.name, programme: '南溪镇爱心银行', star_level: 1, to: '', total_hours: '3.50', version: 1 };
const signSummary = (bytes, key = programme, context = SUMMARY_CONTEXT) =>
  sign(null, Buffer.concat([context, bytes]), key.privateKey);
const qrPayload = (bytes, signature = signSummary(bytes)) =>
  `LB1.${Buffer.from(bytes).toString('base64url')}.${Buffer.from(signature).toString('base64url')}`;
const summaryPayload = (fields) => qrPayload(Buffer.from(model(fields)));
const genuineSummary = summaryPayload(summaryFields);
async function summaryCodes(payload, key = programme.raw) {
  return codes(await P.verifySummary(payload, key));
}
const passed = await P.verifySummary(genuineSummary, programme.raw);
assert.deepEqual(codes(passed), []);
assert.deepEqual(passed.proven, { fingerprint: expected, summary: summaryFields });
assert.ok(genuineSummary.length < 600, genuineSummary.length);
// At the limit exactly (a long name), and a byte over it.
const limitBytes = Buffer.byteLength(model({ ...summaryFields, name: '' }));
const atLimit = { ...summaryFields, name: 'x'.repeat(P.SUMMARY_BYTES_MAX - limitBytes) };
assert.equal(Buffer.byteLength(model(atLimit)), 4096);
assert.deepEqual(await summaryCodes(summaryPayload(atLimit)), []);
assert.match((await P.verifySummary(summaryPayload({ ...atLimit, name: `${atLimit.name}x` }), programme.raw))
  .problems[0].text, /摘要超过 4096 字节/);
assert.deepEqual(await summaryCodes(summaryPayload({ ...atLimit, name: `${atLimit.name}x` })), ['SUMMARY_TOO_LARGE']);
assert.deepEqual(await summaryCodes(`LB1.${'A'.repeat(1 << 20)}.${'A'.repeat(86)}`), ['SUMMARY_TOO_LARGE']);
// The summary edited after signing: total_hours, and every byte in turn.
const summaryBytes = Buffer.from(model(summaryFields));
const summarySignature = signSummary(summaryBytes);
const more = Buffer.from(model(summaryFields).replace('"total_hours":"3.50"', '"total_hours":"4.50"'));
assert.notDeepEqual(more, summaryBytes);
assert.match((await P.verifySummary(qrPayload(more, summarySignature), programme.raw)).problems[0].text,
  new RegExp(`证书摘要的签名不符：摘要被改动过，或者它不是由您填写的公钥（指纹 ${expected}）签署的`));
for (let at = 0; at < summaryBytes.length; at += 1) {
  const bytes = Buffer.from(summaryBytes);
  bytes[at] ^= 1;
  assert.deepEqual(await summaryCodes(qrPayload(bytes, summarySignature)), ['SUMMARY_SIGNATURE'], `byte ${at}`);
}
// Any character of the text edited (seeded): refused, never thrown — base64url is read in its one
// spelling, so no other text of these bytes passes.
let seed = 20261029;
const random = (n) => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) % n; };
const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ 1';
for (let i = 0; i < 300; i += 1) {
  const at = 4 + random(genuineSummary.length - 4);
  const text = genuineSummary.slice(0, at) + alphabet[random(alphabet.length)] + genuineSummary.slice(at + 1);
  if (text === genuineSummary) continue;
  const checked = await P.verifySummary(text, programme.raw);
  assert.equal(checked.problems.length, 1, text);
  assert.ok(['SUMMARY_MALFORMED', 'SUMMARY_SIGNATURE_MALFORMED', 'SUMMARY_SIGNATURE']
    .includes(checked.problems[0].code), text);
}
// Another key: the signature of another, the genuine one under another pinned key, the
// certificate's context signed instead (a signature made for one purpose passes for no other).
assert.deepEqual(await summaryCodes(qrPayload(summaryBytes, signSummary(summaryBytes, other))), ['SUMMARY_SIGNATURE']);
assert.deepEqual(await summaryCodes(genuineSummary, other.raw), ['SUMMARY_SIGNATURE']);
assert.deepEqual(await summaryCodes(qrPayload(summaryBytes,
  signSummary(summaryBytes, programme, Buffer.from('lovebank/v1/certificate\0')))), ['SUMMARY_SIGNATURE']);
// The signature cut short, too long, missing; in the text, one character short.
for (const signature of [summarySignature.subarray(0, 63), Buffer.concat([summarySignature, Buffer.from([0])]),
  summarySignature.subarray(0, 32), Buffer.alloc(0)]) {
  assert.deepEqual(await summaryCodes(qrPayload(summaryBytes, signature)), ['SUMMARY_SIGNATURE_MALFORMED']);
}
assert.deepEqual(await summaryCodes(genuineSummary.slice(0, -1)), ['SUMMARY_SIGNATURE_MALFORMED']);
assert.match((await P.verifySummary(genuineSummary.slice(0, -2), programme.raw)).problems[0].text, /签名应为 64 字节/);
// Signed by the key, but not a summary lovebank writes: a key too many or too few, each field of
// another type or format, the same fields written otherwise.
const withoutVersion = without(summaryFields, 'version');
for (const fields of [
  { ...summaryFields, extra: 1 }, { ...summaryFields, signature: 'ab' }, withoutVersion,
  without(summaryFields, 'data_sha256'),
  { ...summaryFields, account: 1 }, { ...summaryFields, activities: '2' }, { ...summaryFields, activities: -1 },
  { ...summaryFields, as_of_seq: null }, { ...summaryFields, cumulative_hours: 12 },
  { ...summaryFields, cumulative_hours: '12.500' }, { ...summaryFields, data_sha256: 'AB'.repeat(32) },
  { ...summaryFields, data_sha256: 'ab'.repeat(31) }, { ...summaryFields, from: '2026/10/01' },
  { ...summaryFields, ledger_id: `${'0'.repeat(31)}g` }, { ...summaryFields, name: ['韦蕊'] },
  { ...summaryFields, programme: {} }, { ...summaryFields, star_level: 1.5 }, { ...summaryFields, star_level: 1001 },
  { ...summaryFields, to: true }, { ...summaryFields, total_hours: '-3.50' }, { ...summaryFields, version: 2 },
]) {
  assert.deepEqual(await summaryCodes(summaryPayload(fields)), ['SUMMARY_CONTENT'], JSON.stringify(fields));
}
const canonical = model(summaryFields);
for (const text of [
  JSON.stringify(summaryFields, null, 1),
  JSON.stringify(Object.fromEntries(Object.entries(summaryFields).reverse())),
  canonical.replace('"as_of_seq":13', '"as_of_seq":13.0'),
  canonical.replace('"account":"V00001"', '"account":"V00002","account":"V00001"'),
  canonical.replace('南溪镇', '\\u5357溪镇'),
  `\uFEFF${canonical}`, `${canonical} `, '[]', 'null', '{}',
]) {
  assert.notEqual(text, canonical);
  assert.deepEqual(await summaryCodes(qrPayload(Buffer.from(text))), ['SUMMARY_CONTENT'], text);
}
assert.deepEqual(await summaryCodes(qrPayload(Buffer.from([0x7b, 0xff, 0x7d]))), ['SUMMARY_CONTENT']);  // not UTF-8
assert.match((await P.verifySummary(summaryPayload(withoutVersion), programme.raw)).problems[0].text, /内容格式不对/);
// The payload's syntax: base64url only, unpadded, in its one spelling; the prefix; two parts.
const [summaryText, signatureText] = genuineSummary.slice(4).split('.');
// The same bytes with an unused low bit of the last character set (each part then ends in a
// character whose unused bits are zero, 2 or 4 of them: its alphabet index + 1 is still a letter).
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const unusedBitSet = (text) => text.slice(0, -1) + BASE64URL[BASE64URL.indexOf(text.at(-1)) + 1];
let oddFields = summaryFields;
while (Buffer.byteLength(model(oddFields)) % 3 === 0) oddFields = { ...oddFields, name: `${oddFields.name}x` };
const [oddText, oddSignature] = summaryPayload(oddFields).slice(4).split('.');
assert.deepEqual(await summaryCodes(`LB1.${oddText}.${oddSignature}`), []);
assert.deepEqual(await summaryCodes(`LB1.${unusedBitSet(oddText)}.${oddSignature}`), ['SUMMARY_MALFORMED']);
assert.deepEqual(await summaryCodes(`LB1.${summaryText}.${unusedBitSet(signatureText)}`), ['SUMMARY_SIGNATURE_MALFORMED']);
for (const text of [
  `LB1.${Buffer.from(summaryBytes).toString('base64')}.${signatureText}`,      // + / and padding
  `LB1.${summaryText}=.${signatureText}`, `LB1.${summaryText.slice(0, 5)}*${summaryText.slice(6)}.${signatureText}`,
  `LB1.${summaryText}${'A'.repeat((5 - (summaryText.length % 4)) % 4)}.${signatureText}`,  // 4n + 1: no bytes
]) {
  assert.deepEqual(await summaryCodes(text), ['SUMMARY_MALFORMED'], text);
}
assert.deepEqual(await summaryCodes(`LB1.${summaryText}.${signatureText}=`), ['SUMMARY_SIGNATURE_MALFORMED']);
for (const text of ['LB1.', `LB1.${summaryText}`, `LB1.${summaryText}.${signatureText}.`, `LB1.a.b.c`]) {
  assert.deepEqual(await summaryCodes(text), ['SUMMARY_MALFORMED'], text);
}
for (const text of [`LB2.${summaryText}.${signatureText}`, `lb1.${summaryText}.${signatureText}`,
  ` ${genuineSummary}`, `${summaryText}.${signatureText}`, '', null, 42]) {
  assert.deepEqual(await summaryCodes(text), ['SUMMARY_PREFIX'], String(text));
}
assert.match((await P.verifySummary('LB2.', programme.raw)).problems[0].text, /其内容应以 LB1\. 开头/);
// As read: the payload alone, or the link a QR code carries (its key: the link's, for the page to
// flag); a certificate page that shows the QR's link is still a certificate.
const keyHex = programme.raw.toString('hex');
assert.deepEqual(P.readInput(`\n ${genuineSummary}\n`), { kind: 'summary', payload: genuineSummary, key: null });
assert.deepEqual(P.readInput(`https://lovebank.example.cn/verify/#q=${genuineSummary}&k=${keyHex}`),
  { kind: 'summary', payload: genuineSummary, key: keyHex });
assert.deepEqual(P.readInput(`http://127.0.0.1:8080/verify/#k=${keyHex}&q=${encodeURIComponent(genuineSummary)}`),
  { kind: 'summary', payload: genuineSummary, key: keyHex });
assert.deepEqual(P.readInput(`/verify/#q=${genuineSummary}`), { kind: 'summary', payload: genuineSummary, key: null });
assert.equal(P.readInput(`https://lovebank.example.cn/verify/#key=${keyHex}`).problem.code, 'NOT_A_PROOF');
assert.equal(P.readInput(`see https://lovebank.example.cn/verify/#q=${genuineSummary}`).problem.code, 'NOT_A_PROOF');
assert.deepEqual(P.linkFields(`q=${genuineSummary}&key=${keyHex}&k=${'00'.repeat(32)}`),
  { payload: genuineSummary, key: keyHex });
assert.deepEqual(P.linkFields(`key=${keyHex}`), { payload: null, key: keyHex });
const withQr = page.replace('</body>',
  `<figure class="qr" id="certificate-qr" data-text="https://x.cn/verify/#q=${genuineSummary}&amp;k=${keyHex}"></figure></body>`);
assert.equal(P.readInput(withQr).kind, 'certificate');
const scanned = P.readInput(`https://lovebank.example.cn/verify/#q=${genuineSummary}&k=${keyHex}`);
assert.deepEqual(codes(await P.verifySummary(scanned.payload, P.parseKey(scanned.key))), []);

console.log('proof: every entry of trees of 1 to 33 verified; every lying proof, edited certificate, ' +
  'record-carrying or extra certificate entry, rewritten data element and edited or malformed QR summary refused');
