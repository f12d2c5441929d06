// Proofs checked in the browser (issue #27; docs/proofs.md): a proof bundle (`lovebank prove`) or
// a volunteer certificate of version 3, with nothing but the programme's public key — the same
// checks as clients/proof.cc and clients/certificate.cc's VerifyOffline, with WebCrypto (SHA-256,
// Ed25519). No DOM here: the page (verify.js) shows what these return, and tests/web/proof_test.mjs
// runs them in Node against a tree built by a model of its own.
//
// A bundle carries each entry's stored record (the member gives it to whom they choose); a
// certificate's proof is hash-only — {"seq", "hash", "path"} per listed activity, no record (a
// record shows a member's phone, tags, memos, a service requester's own words) — so for a
// certificate the page proves that the ledger's key signed exactly its data and that each listed
// entry (by its hash) is in the signed ledger; what each field says stands on that signature.
// A certificate's QR code carries a signed summary of it (verifySummary): a few figures signed by
// the same key, for a reader holding only the paper; the activities' proofs stay in the file.
//
// Every check returns problems as {code, text}: `code` for tests, `text` in Chinese for people.

export const TREE_SIZE_MAX = 2n ** 48n;  // ledger/format/merkle.h kTreeSizeMax
export const PATH_HASHES_MAX = 96;       // merkle.h kPathHashesMax
export const ENTRIES_MAX = 12000;        // clients/proof.h kEntriesMax
export const BUNDLE_VERSION = 1;
export const CERTIFICATE_VERSION = 3;
export const CERTIFICATE_ONLINE_ONLY = 2;
export const CERTIFICATE_BYTES_MAX = 16 << 20;  // clients/certificate.h kBytesMax
const ENTRY_FORMAT_VERSION = 1;
const STORED_HEADER_BYTES = 65;
const DATA_OPEN = '<script type="application/json" id="lovebank-certificate">';
const DATA_CLOSE = '</script>';

const encoder = new TextEncoder();

function problem(code, text) { return { code, text }; }

// ---- bytes ---------------------------------------------------------------------------------

// The bytes of `hex` when it is exactly `bytes` bytes of hex digits (either case), else null.
export function hexBytes(hex, bytes) {
  if (typeof hex !== 'string' || hex.length !== 2 * bytes || !/^[0-9a-fA-F]*$/.test(hex)) return null;
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i += 1) out[i] = parseInt(hex.substr(2 * i, 2), 16);
  return out;
}

export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// Standard base64 with padding, nothing else (as clients/proof.cc FromBase64), else null.
export function fromBase64(text) {
  if (typeof text !== 'string' || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
  let binary;
  try { binary = atob(text); } catch { return null; }
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

// base64url without padding (RFC 4648 section 5) in its one spelling — the unused low bits of the
// last character zero, as every encoder writes them — else null.
export function fromBase64Url(text) {
  if (typeof text !== 'string' || text.length % 4 === 1 || !/^[A-Za-z0-9_-]*$/.test(text)) return null;
  const padded = text.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(text.length / 4) * 4, '=');
  const bytes = fromBase64(padded);
  return bytes && toBase64Url(bytes) === text ? bytes : null;
}

function toBase64Url(bytes) {
  return btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(''))
    .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) { out.set(part, at); at += part.length; }
  return out;
}

function u64be(value, signed = false) {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  if (signed) view.setBigInt64(0, BigInt(value), false);
  else view.setBigUint64(0, BigInt(value), false);
  return out;
}

function equal(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i += 1) diff |= a[i] ^ b[i];
  return diff === 0;
}

export async function sha256(...parts) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', concat(...parts)));
}

// ---- keys ----------------------------------------------------------------------------------

// The key from 64 hex digits (surrounding whitespace ignored), as lovebank's --key takes it.
export function parseKey(text) {
  return typeof text === 'string' ? hexBytes(text.trim(), 32) : null;
}

// What people compare: SHA-256 of the raw key, its first 16 bytes as hex in groups of four.
export async function fingerprint(key) {
  const hex = toHex((await sha256(key)).subarray(0, 16));
  return hex.match(/.{4}/g).join(' ');
}

// Ed25519 in this browser (Chrome and Edge 137+, Firefox 129+, Safari 17+), or why not.
export async function cryptoProblem() {
  if (!globalThis.crypto || !crypto.subtle) {
    return problem('CRYPTO_UNAVAILABLE', '此浏览器在这个地址下不能核验（需要 HTTPS 网址或本机地址）');
  }
  try {
    // RFC 8032's first test key: any valid key will do.
    await crypto.subtle.importKey('raw', hexBytes(
      'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 32),
    { name: 'Ed25519' }, false, ['verify']);
    return null;
  } catch {
    return problem('ED25519_UNSUPPORTED',
      '此浏览器不支持 Ed25519 签名核验，请换用新版的 Chrome、Edge、Firefox 或 Safari，或用命令 lovebank verify-proof');
  }
}

async function ed25519Verify(key, signature, message) {
  try {
    const imported = await crypto.subtle.importKey('raw', key, { name: 'Ed25519' }, false, ['verify']);
    return await crypto.subtle.verify('Ed25519', imported, signature, message);
  } catch {
    return false;  // not a point on the curve: nothing verifies under it
  }
}

// ---- the journal and the tree (docs/journal-format.md) --------------------------------------

// hash = SHA-256(prev hash ‖ seq u64 BE ‖ payload length u64 BE ‖ payload)
export function chainHash(prev, seq, payload) {
  return sha256(prev, u64be(seq), u64be(payload.length), payload);
}
export function leafHash(entryHash) { return sha256(Uint8Array.of(0), entryHash); }
export function nodeHash(left, right) { return sha256(Uint8Array.of(1), left, right); }

// The stored entry: version 1 ‖ hash (32) ‖ previous hash (32) ‖ payload, else null.
export function decodeStored(record) {
  if (record.length < STORED_HEADER_BYTES || record[0] !== ENTRY_FORMAT_VERSION) return null;
  return { hash: record.subarray(1, 33), prev: record.subarray(33, 65), payload: record.subarray(65) };
}

// The seq of a serialized lovebank.v1.Entry (field 1, uint64): the top-level fields walked in
// protobuf's wire format, the last field 1 winning as in protobuf. null when the bytes are not
// protobuf; 0n when field 1 is absent.
export function payloadSeq(payload) {
  let at = 0;
  let seq = 0n;
  const varint = () => {
    let value = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (at >= payload.length) return null;
      const byte = payload[at];
      at += 1;
      value |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value & 0xffffffffffffffffn;
    }
    return null;
  };
  while (at < payload.length) {
    const tag = varint();
    if (tag === null || tag >> 3n === 0n) return null;
    const field = tag >> 3n;
    const type = Number(tag & 7n);
    if (type === 0) {
      const value = varint();
      if (value === null) return null;
      if (field === 1n) seq = value;
    } else if (type === 1 || type === 5) {
      at += type === 1 ? 8 : 4;
    } else if (type === 2) {
      const length = varint();
      if (length === null || length > BigInt(payload.length - at)) return null;
      at += Number(length);
    } else {
      return null;  // groups: no lovebank message has them
    }
    if (at > payload.length) return null;
  }
  return seq;
}

// How many hashes RFC 9162's inclusion proof of leaf `index` in a tree of `size` holds.
export function inclusionPathLength(index, size) {
  let i = BigInt(index);
  let n = BigInt(size);
  let length = 0;
  while (n > 1n) {
    let k = 1n;
    while (k * 2n < n) k *= 2n;  // the largest power of two below n
    length += 1;
    if (i < k) n = k;
    else { i -= k; n -= k; }
  }
  return length;
}

// RFC 9162 section 2.1.3.2, after checking everything the proof claims: the problem's name (as
// ledger/format/merkle.cc ProofProblemName), or null when `leaf` is leaf `index` under `root`.
export async function verifyInclusion(index, size, leaf, path, root) {
  const n = BigInt(size);
  const i = BigInt(index);
  if (n <= 0n || n > TREE_SIZE_MAX) return 'TREE_SIZE_INVALID';
  if (i < 0n || i >= n) return 'LEAF_INDEX_INVALID';
  if (path.length !== inclusionPathLength(i, n)) return 'PROOF_LENGTH_INVALID';
  let fn = i;
  let sn = n - 1n;
  let r = leaf;
  for (const p of path) {
    if (sn === 0n) return 'PROOF_LENGTH_INVALID';
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n || !equal(r, root)) return 'ROOT_MISMATCH';
  return null;
}

const INCLUSION_WORDS = {
  TREE_SIZE_INVALID: '账本长度无效',
  LEAF_INDEX_INVALID: '流水号超出了签名账本的长度',
  PROOF_LENGTH_INVALID: '证明路径的长度不对',
  ROOT_MISMATCH: '证明路径算不出签名的根哈希',
};

// ---- signed messages (ledger/format/signature.h) ---------------------------------------------

const CONTEXT = (name) => concat(encoder.encode(name), Uint8Array.of(0));

export function treeHeadMessage(head) {
  return concat(CONTEXT('lovebank/v1/tree-head'), head.ledgerId, u64be(head.treeSize), head.root,
    u64be(head.timeUnixUs, true));
}

export function certificateMessage(dataSha256) {
  return concat(CONTEXT('lovebank/v1/certificate'), dataSha256);
}

export function summaryMessage(summaryBytes) {
  return concat(CONTEXT('lovebank/v1/certificate-summary'), summaryBytes);
}

// ---- proof bundles (clients/proof.h) ----------------------------------------------------------

const isCount = (v) => Number.isSafeInteger(v) && v >= 0;

// The signed head's fields, or null when it is malformed.
function parseHead(json) {
  if (!json || typeof json !== 'object' || Array.isArray(json)) return null;
  const head = {
    ledgerId: hexBytes(json.ledger_id, 16), root: hexBytes(json.root, 32),
    key: hexBytes(json.public_key, 32), signature: hexBytes(json.signature, 64),
    treeSize: json.tree_size, timeUnixUs: json.time_unix_us,
  };
  if (!head.ledgerId || !head.root || !head.key || !head.signature || !isCount(head.treeSize) ||
      !Number.isSafeInteger(head.timeUnixUs)) return null;
  return head;
}

// Checks the "head" and "entries" of a bundle (or of a certificate's "proof") against the pinned
// key, in clients/proof.cc's order: shape and limits, the pinned key, the head's signature, then
// each entry (its chain hash, its inclusion proof, its payload's seq).
// A bundle's entries are exactly {"seq", "record", "path"}; with `hashOnly` (a certificate's
// proof) exactly {"seq", "hash", "path"}: the entry's chain hash given as 64 hex digits, nothing
// to recompute it from, so it proves that hash is in the tree and nothing about any content.
// Returns {problems, proven: {treeSize, root, ledgerId, timeUnixUs, fingerprint, entries}}, each
// proven entry {seq, hash (lowercase hex)}.
export async function verifyBundle(bundle, pinnedKey, { hashOnly = false } = {}) {
  const problems = [];
  const proven = { treeSize: 0, root: '', ledgerId: '', timeUnixUs: 0, fingerprint: '', entries: [] };
  const done = () => ({ problems, proven });
  if (!bundle || typeof bundle !== 'object' || !bundle.head || !Array.isArray(bundle.entries)) {
    problems.push(problem('NOT_A_PROOF', '这不是爱心银行的证明：缺少账本签名或流水'));
    return done();
  }
  if (bundle.entries.length > ENTRIES_MAX) {
    problems.push(problem('TOO_MANY_ENTRIES', `证明中的流水超过 ${ENTRIES_MAX} 条，不是爱心银行的证明`));
    return done();
  }
  const head = parseHead(bundle.head);
  if (!head) {
    problems.push(problem('HEAD_MALFORMED', '账本签名部分（head）格式不对'));
    return done();
  }
  // The pinned key first: a bundle names its own key, which proves nothing by itself.
  if (!equal(head.key, pinnedKey)) {
    problems.push(problem('ANOTHER_KEY', `本证明由另一把公钥签发（指纹 ${await fingerprint(head.key)}），` +
      `不是您填写的项目公钥（指纹 ${await fingerprint(pinnedKey)}）：它不能证明是该项目账本出具的`));
    return done();
  }
  if (!await ed25519Verify(pinnedKey, head.signature, treeHeadMessage(head))) {
    problems.push(problem('HEAD_SIGNATURE',
      '账本签名无效：签名后账本的长度、根哈希或时间被改动过，或者是伪造的'));
    return done();
  }
  Object.assign(proven, { treeSize: head.treeSize, root: toHex(head.root), ledgerId: toHex(head.ledgerId),
    timeUnixUs: head.timeUnixUs, fingerprint: await fingerprint(pinnedKey) });
  const seen = new Set();
  for (const [position, item] of bundle.entries.entries()) {
    if (!entryShapeOk(item, hashOnly)) {
      problems.push(problem('ENTRY_MALFORMED', `证明中的第 ${position + 1} 项流水格式不对` +
        (hashOnly ? '（志愿服务证明只带每项活动流水的序号、哈希和证明路径）' : '')));
      continue;
    }
    const { seq } = item;
    if (seen.has(seq)) {
      problems.push(problem('ENTRY_TWICE', `第 ${seq} 条流水在证明中列了两次`));
      continue;
    }
    seen.add(seq);
    let entryHash;
    let stored = null;
    if (hashOnly) {
      entryHash = hexBytes(item.hash, 32);
      if (!entryHash) {
        problems.push(problem('HASH_MALFORMED', `第 ${seq} 条流水的哈希不是 64 位十六进制数字`));
        continue;
      }
    } else {
      const record = fromBase64(item.record);
      stored = record && decodeStored(record);
      if (!stored) {
        problems.push(problem('RECORD_MALFORMED', `第 ${seq} 条流水的存储内容格式不对`));
        continue;
      }
      if (!equal(await chainHash(stored.prev, seq, stored.payload), stored.hash)) {
        problems.push(problem('RECORD_EDITED', `第 ${seq} 条流水的内容与它的哈希不符：内容被改动过`));
        continue;
      }
      entryHash = stored.hash;
    }
    const path = item.path.map((hash) => hexBytes(hash, 32));
    const why = seq === 0 ? 'LEAF_INDEX_INVALID'
      : path.some((hash) => !hash) ? 'ROOT_MISMATCH'
        : await verifyInclusion(seq - 1, head.treeSize, await leafHash(entryHash), path, head.root);
    if (why) {
      problems.push(problem('NOT_IN_LEDGER',
        `第 ${seq} 条流水不在已签名的账本（共 ${head.treeSize} 条）中：${INCLUSION_WORDS[why]}`));
      continue;
    }
    if (stored && payloadSeq(stored.payload) !== BigInt(seq)) {
      problems.push(problem('PAYLOAD_NOT_ENTRY', `第 ${seq} 条流水的内容不是爱心银行账本第 ${seq} 条流水`));
      continue;
    }
    proven.entries.push({ seq, hash: toHex(entryHash) });
  }
  return done();
}

// An entry of a bundle, {"seq", "record", "path"}, or of a certificate's proof, {"seq", "hash",
// "path"}: exactly those keys (a certificate's entry with a "record" is malformed), a count, a
// string, at most PATH_HASHES_MAX strings.
function entryShapeOk(item, hashOnly) {
  const content = hashOnly ? 'hash' : 'record';
  return Boolean(item) && typeof item === 'object' && !Array.isArray(item) &&
    Object.keys(item).length === 3 && Object.hasOwn(item, 'seq') && Object.hasOwn(item, content) &&
    Object.hasOwn(item, 'path') && isCount(item.seq) && typeof item[content] === 'string' &&
    Array.isArray(item.path) && item.path.length <= PATH_HASHES_MAX &&
    item.path.every((hash) => typeof hash === 'string');
}

// ---- certificates (clients/certificate.h) -----------------------------------------------------

// The JSON whose SHA-256 the ledger signs: nlohmann::json's dump() — object keys in UTF-8 byte
// order (= code point order), no whitespace, strings escaped as JSON.stringify does (\" \\ \b \f
// \n \r \t, other control characters as \u00xx, everything else as is), integers as digits.
// Throws on what lovebank never writes (fractions, integers beyond 2^53).
export function canonicalJson(value) {
  if (value === null || value === true || value === false) return String(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error('not an integer lovebank writes');
    return String(value);
  }
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const keys = Object.keys(value).sort(byCodePoints);
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`).join(',')}}`;
  }
  throw new Error('not JSON');
}

function byCodePoints(a, b) {
  const x = Array.from(a, (c) => c.codePointAt(0));
  const y = Array.from(b, (c) => c.codePointAt(0));
  for (let i = 0; i < Math.min(x.length, y.length); i += 1) {
    if (x[i] !== y[i]) return x[i] - y[i];
  }
  return x.length - y.length;
}

// The certificate data in a certificate's page (exactly one data element) and the element's raw
// text, {data, text}, else null.
export function certificateDataOf(page) {
  const open = page.indexOf(DATA_OPEN);
  if (open < 0 || page.indexOf(DATA_OPEN, open + 1) >= 0) return null;
  const close = page.indexOf(DATA_CLOSE, open + DATA_OPEN.length);
  if (close < 0) return null;
  const text = page.slice(open + DATA_OPEN.length, close);
  try { return { data: JSON.parse(text), text }; } catch { return null; }
}

// The data element's text exactly as lovebank writes it (clients/certificate.cc ScriptJson): the
// canonical JSON of the whole data, "signature" included, with < > & as \u003c \u003e \u0026 so
// that no text inside can end the element. Throws where canonicalJson does.
export function scriptJson(data) {
  return canonicalJson(data).replace(/[<>&]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

// Why `data` is not version 3 (or 2) certificate data — every key, its type, nothing else — or
// null (as certificate.cc ShapeProblem).
function shapeProblem(data) {
  const text = (v) => typeof v === 'string';
  const exactly = (object, fields) => object && typeof object === 'object' && !Array.isArray(object) &&
    Object.keys(object).length === Object.keys(fields).length &&
    Object.entries(fields).every(([key, ok]) => Object.hasOwn(object, key) && ok(object[key]));
  const fields = {
    version: (v) => v === CERTIFICATE_VERSION || v === CERTIFICATE_ONLINE_ONLY,
    programme: text, account: text, name: text, from: text, to: text, as_of_seq: isCount,
    cumulative_hours: text, star_level: (v) => isCount(v) && v <= 1000, total_hours: text,
    digest: (v) => exactly(v, { seq: isCount, hash: text }),
    activities: (v) => Array.isArray(v) && v.every((a) => exactly(a,
      { seq: isCount, hash: text, date: text, name: text, team: text, hours: text })),
  };
  if (data && data.version === CERTIFICATE_VERSION) {
    fields.proof = (v) => exactly(v, { head: (h) => h && typeof h === 'object' && !Array.isArray(h),
      entries: Array.isArray });
    fields.signature = text;
    // A certificate with a QR code carries its link and the summary's signature (covered by the
    // certificate's own signature; the summary itself is checked when the QR is scanned).
    if (data && typeof data === 'object' && Object.hasOwn(data, 'qr')) {
      fields.qr = (v) => exactly(v, { url: (u) => text(u) && u.length <= 256,
        signature: (x) => text(x) && /^[0-9a-f]{128}$/.test(x) });
    }
  }
  if (!exactly(data, fields)) return '证明的数据格式不对';
  if (data.version === CERTIFICATE_VERSION) {
    // Hash-only: an entry carrying its record (or anything else) is not what lovebank writes.
    const bad = data.proof.entries.findIndex((item) => !entryShapeOk(item, true));
    if (bad >= 0) {
      return `证明的数据格式不对：所附证明的第 ${bad + 1} 项流水应当只有序号、哈希和证明路径`;
    }
  }
  return null;
}

// Hours as hundredths (HOURS have scale 2: "2", "2.5", "2.50"), else null.
function hundredths(hours) {
  const match = /^(0|[1-9][0-9]*)(?:\.([0-9]{1,2}))?$/.exec(hours);
  return match ? BigInt(match[1]) * 100n + BigInt((match[2] || '0').padEnd(2, '0')) : null;
}
function formatHundredths(value) {
  return `${value / 100n}.${String(value % 100n).padStart(2, '0')}`;
}

// Checks version 3 certificate data against the pinned key, in this order: its shape (every key,
// its type, nothing else; the proof's entries hash-only); when `text` (the page's data element,
// as certificateDataOf found it) is given, that it is exactly scriptJson(data) — lovebank writes
// nothing else, so any other text (6.000 for 6, spaces, keys reordered or repeated) was rewritten
// by someone; the proof (as a bundle, hash-only: the pinned key, the head's signature, each
// entry's inclusion in the signed tree); the signed tree's size against as_of_seq; exactly the
// listed activities proven, each once with its hash; the total against the activities; then the
// ledger key's signature over every field.
// What that proves: the ledger's key signed exactly this data, and each listed entry (by its
// hash) is in the signed ledger of as_of_seq entries. The fields' contents (name, dates,
// activities, teams, hours, cumulative hours, star) stand on that signature: no record travels
// with a certificate; `lovebank verify-certificate FILE` (online) checks each against the ledger.
// Returns {problems, proven} (proven as verifyBundle's).
export async function verifyCertificate(data, pinnedKey, { text } = {}) {
  const shape = shapeProblem(data);
  if (shape) return { problems: [problem('CERTIFICATE_MALFORMED', shape)], proven: null };
  if (data.version !== CERTIFICATE_VERSION) {
    return { problems: [problem('CERTIFICATE_ONLINE_ONLY', `这是第 ${data.version} 版的志愿服务证明，不带签名和证明，` +
      '不能在本页核验：请用命令 lovebank verify-certificate 文件（连接项目服务器）核验')], proven: null };
  }
  if (text !== undefined) {
    let written = null;
    try { written = scriptJson(data); } catch { /* not what lovebank writes: below */ }
    if (text !== written) {
      return { problems: [problem('DATA_REWRITTEN', '证明数据被改写过：网页中的核验数据与爱心银行出具时的写法' +
        '不一致（数字、空格、顺序或重复的项被改动过），不是原样的证明，不能确认')], proven: null };
    }
  }
  const { problems, proven } = await verifyBundle(data.proof, pinnedKey, { hashOnly: true });
  if (problems.length) return { problems, proven };
  if (proven.treeSize !== data.as_of_seq) {
    problems.push(problem('TREE_SIZE_MISMATCH', `所附账本签名共 ${proven.treeSize} 条流水，` +
      `而证明写的是截至第 ${data.as_of_seq} 条流水`));
  }
  // Exactly the listed activities are proven: each once, with the hash the data shows.
  const hashes = new Map(proven.entries.map((e) => [e.seq, e.hash]));
  const listed = new Set();
  let total = 0n;
  for (const activity of data.activities) {
    if (listed.has(activity.seq)) {
      problems.push(problem('ACTIVITY_TWICE', `第 ${activity.seq} 条流水在所列活动中出现了两次`));
    }
    listed.add(activity.seq);
    if (!hashes.has(activity.seq)) {
      problems.push(problem('ACTIVITY_NOT_PROVEN', `第 ${activity.seq} 条流水（所列活动）不在所附证明中`));
    } else if (hashes.get(activity.seq) !== activity.hash) {
      problems.push(problem('ACTIVITY_HASH', `第 ${activity.seq} 条流水的哈希与证明中的不同`));
    }
    const hours = hundredths(activity.hours);
    if (hours === null) problems.push(problem('HOURS_INVALID', `第 ${activity.seq} 条流水的时长格式不对`));
    else total += hours;
  }
  for (const seq of hashes.keys()) {
    if (!listed.has(seq)) {
      problems.push(problem('ENTRY_NOT_LISTED', `所附证明中的第 ${seq} 条流水不是所列的活动`));
    }
  }
  if (data.total_hours !== formatHundredths(total)) {
    problems.push(problem('TOTAL_MISMATCH',
      `所列活动合计 ${formatHundredths(total)} 小时，证明写的是 ${data.total_hours} 小时`));
  }
  const signature = hexBytes(data.signature, 64);
  const signed = { ...data };
  delete signed.signature;
  let message = null;
  try { message = certificateMessage(await sha256(encoder.encode(canonicalJson(signed)))); } catch { /* below */ }
  if (!signature || !message || !await ed25519Verify(pinnedKey, signature, message)) {
    problems.push(problem('CERTIFICATE_SIGNATURE',
      '证明的签名不符：证明出具后内容被改动过（姓名、时长、活动或其他任何一项）'));
  }
  return { problems, proven };
}

// ---- a certificate's QR summary (clients/certificate.cc) --------------------------------------

// The QR code's text is PAYLOAD, or URL#q=PAYLOAD&k=KEY when the programme set the public address
// of its /verify/ page. PAYLOAD = "LB1." base64url(summary) "." base64url(signature), both without
// padding; the summary is nlohmann's dump() of exactly SUMMARY_FIELDS (keys in byte order, no
// spaces, UTF-8 as is), the signature Ed25519 over "lovebank/v1/certificate-summary" 0x00 ‖ the
// summary's bytes. For example, the summary
//   {"account":"V00001","activities":1,"as_of_seq":42,"cumulative_hours":"12.50","data_sha256":
//   "<64 hex>","from":"","ledger_id":"<32 hex>","name":"韦蕊","programme":"南溪镇爱心银行",
//   "star_level":1,"to":"","total_hours":"2.50","version":1}
// (one line, 323 bytes) is eyJhY2NvdW50IjoiVjAwMDAxIiwiYWN0aXZpdGllcyI6MSwi… in base64url (431
// characters), and the payload is "LB1." that "." the signature's 86 characters: 522 in all.
export const SUMMARY_PREFIX = 'LB1.';
export const SUMMARY_VERSION = 1;
export const SUMMARY_BYTES_MAX = 4096;  // over ten times a genuine summary's size
// The limit as base64url characters, checked before decoding: 4 for every 3 bytes, 5,462 for 4,096
// (and 5,462 characters hold 4,096.5 bytes, so what decodes is within the limit too).
const SUMMARY_TEXT_MAX = Math.ceil((SUMMARY_BYTES_MAX * 4) / 3);

const isText = (v) => typeof v === 'string';
const isHexOf = (digits) => (v) => isText(v) && v.length === digits && /^[0-9a-f]*$/.test(v);
const isHours = (v) => isText(v) && hundredths(v) !== null;
const isDayOrNone = (v) => isText(v) && /^([0-9]{4}-[0-9]{2}-[0-9]{2})?$/.test(v);
const SUMMARY_FIELDS = {
  account: isText, activities: isCount, as_of_seq: isCount, cumulative_hours: isHours,
  data_sha256: isHexOf(64), from: isDayOrNone, ledger_id: isHexOf(32), name: isText,
  programme: isText, star_level: (v) => isCount(v) && v <= 1000, to: isDayOrNone,
  total_hours: isHours, version: (v) => v === SUMMARY_VERSION,
};

// The summary's fields when `bytes` are exactly what lovebank writes — UTF-8, a JSON object of
// exactly SUMMARY_FIELDS with their types, written as canonicalJson writes it (so no other writing
// of the same fields, keys repeated or reordered, 1.0 for 1, passes) — else null.
function summaryFields(bytes) {
  let text;
  let fields;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    fields = JSON.parse(text);
  } catch {
    return null;
  }
  const ok = Boolean(fields) && typeof fields === 'object' && !Array.isArray(fields) &&
    Object.keys(fields).length === Object.keys(SUMMARY_FIELDS).length &&
    Object.entries(SUMMARY_FIELDS).every(([key, valid]) => Object.hasOwn(fields, key) && valid(fields[key]));
  return ok && canonicalJson(fields) === text ? fields : null;
}

// Checks a certificate's QR summary, PAYLOAD as above (readInput's `payload`), against the pinned
// key, stopping at the first refusal: the prefix; two base64url parts; the summary at most
// SUMMARY_BYTES_MAX bytes; the signature exactly 64 bytes; the signature over the summary's bytes
// as they came — before they are parsed, so nothing unsigned is read, and an edit anywhere is the
// one refusal it is rather than whatever the edit happened to break; then the summary's fields.
// What a pass proves: the key's holder signed these figures, and no more — not that they are the
// paper's in hand (the reader compares), nor any activity (their proofs are in the certificate
// file), nor data_sha256 (this page has no certificate file to hash).
// Returns {problems: [] or one {code, text}, proven: {fingerprint, summary} or null}; never throws.
export async function verifySummary(payload, pinnedKey) {
  const refused = (code, text) => ({ problems: [problem(code, text)], proven: null });
  if (typeof payload !== 'string' || !payload.startsWith(SUMMARY_PREFIX)) {
    return refused('SUMMARY_PREFIX', `这不是爱心银行证书的二维码：其内容应以 ${SUMMARY_PREFIX} 开头`);
  }
  const parts = payload.slice(SUMMARY_PREFIX.length).split('.');
  if (parts.length !== 2) {
    return refused('SUMMARY_MALFORMED', '证书二维码的内容不完整或已损坏：应为 LB1.摘要.签名 三段');
  }
  if (parts[0].length > SUMMARY_TEXT_MAX) {
    return refused('SUMMARY_TOO_LARGE', `证书二维码的摘要超过 ${SUMMARY_BYTES_MAX} 字节，不是爱心银行出具的`);
  }
  const summaryBytes = fromBase64Url(parts[0]);
  if (!summaryBytes) {
    return refused('SUMMARY_MALFORMED', '证书二维码的摘要部分已损坏：只应有字母、数字、- 和 _（可能抄错或没扫全）');
  }
  const signature = fromBase64Url(parts[1]);
  if (!signature || signature.length !== 64) {
    return refused('SUMMARY_SIGNATURE_MALFORMED', '证书二维码的签名部分已损坏：签名应为 64 字节（可能抄错或没扫全）');
  }
  const print = await fingerprint(pinnedKey);
  if (!await ed25519Verify(pinnedKey, signature, summaryMessage(summaryBytes))) {
    return refused('SUMMARY_SIGNATURE', '证书摘要的签名不符：摘要被改动过，或者它不是由您填写的公钥' +
      `（指纹 ${print}）签署的`);
  }
  const fields = summaryFields(summaryBytes);
  if (!fields) {
    return refused('SUMMARY_CONTENT', '证书摘要的内容格式不对（项目、类型或写法与爱心银行出具的不同），不能确认');
  }
  return { problems: [], proven: { fingerprint: print, summary: fields } };
}

// What a link to /verify/ carries after its #: {payload: q, key: key or else k (as given)}, each
// null when absent. `k` is the QR code's short name for `key`: a QR code holds few characters.
export function linkFields(fragment) {
  const fields = new URLSearchParams(fragment);
  return { payload: fields.get('q'), key: fields.get('key') ?? fields.get('k') };
}

// A QR summary as a scanner reads it: the bare payload, or the link that carries it (one word, no
// spaces, with #q=); {payload, key (the link's, as given, or null)} or null.
function summaryOf(text) {
  if (text.startsWith(SUMMARY_PREFIX)) return { payload: text, key: null };
  const hash = text.indexOf('#');
  if (hash < 0 || /\s/.test(text)) return null;
  const { payload, key } = linkFields(text.slice(hash + 1));
  return payload === null ? null : { payload, key };
}

// What was pasted or chosen: {kind: 'bundle', bundle}, {kind: 'certificate', data, text} or
// {kind: 'summary', payload, key}, or {problem}. A bundle is JSON; a certificate is its page
// (`text`: its data element's raw text, for verifyCertificate to hold to lovebank's writing), or
// its data alone as JSON (no `text`: lovebank never writes that form, so there is no writing to
// hold it to; the fields are checked as ever); a summary is a certificate's QR code's text, the
// payload alone or a link with it (`key`: the link's key, or null).
export function readInput(text) {
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  const notOurs = { problem: problem('NOT_A_PROOF',
    '这不是爱心银行的证明文件：请选择流水证明（.json，lovebank prove 生成）或志愿服务证明网页（.html），' +
    '或粘贴证书二维码扫出的文字') };
  if (trimmed.startsWith('{')) {
    let json;
    try { json = JSON.parse(trimmed); } catch { return notOurs; }
    if (json && typeof json === 'object' && Object.hasOwn(json, 'lovebank_proof')) {
      if (json.lovebank_proof !== BUNDLE_VERSION) {
        return { problem: problem('BUNDLE_VERSION', `不是第 ${BUNDLE_VERSION} 版的爱心银行流水证明`) };
      }
      return { kind: 'bundle', bundle: json };
    }
    if (json && typeof json === 'object' && Object.hasOwn(json, 'activities')) return { kind: 'certificate', data: json };
    return notOurs;
  }
  if (trimmed.includes(DATA_OPEN)) {
    const found = certificateDataOf(trimmed);
    if (!found) return { problem: problem('CERTIFICATE_MALFORMED', '证明网页中的核验数据缺失、重复或已损坏') };
    return { kind: 'certificate', data: found.data, text: found.text };
  }
  const summary = summaryOf(trimmed);
  if (summary) return { kind: 'summary', ...summary };
  return notOurs;
}
