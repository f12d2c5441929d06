// Every refusal has a Chinese message on the pages (STYLE.md 18): each reason of
// proto/lovebank/v1/api.proto's enum Reason (but OK) is in clients/web/common/reasons.js, and
// nothing there names a reason the API does not have.
//
// usage: node reasons_test.mjs API_PROTO REASONS_JS
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import assert from 'node:assert/strict';

const [proto, reasonsJs] = process.argv.slice(2);
const names = [...readFileSync(proto, 'utf8').matchAll(/^\s*REASON_([A-Z0-9_]+) = \d+;/gm)]
  .map((match) => match[1]).filter((name) => name !== 'OK');
assert.ok(names.length > 100, `only ${names.length} reasons found in ${proto}`);
const { REASONS, chineseMessage } = await import(pathToFileURL(reasonsJs));
const missing = names.filter((name) => !REASONS[name]);
assert.deepEqual(missing, [], `reasons without a Chinese message: ${missing.join(' ')}`);
const unknown = Object.keys(REASONS).filter((name) => !names.includes(name));
assert.deepEqual(unknown, [], `messages for no reason: ${unknown.join(' ')}`);
for (const name of names) assert.match(REASONS[name], /\p{Script=Han}/u, `${name} is not Chinese`);
assert.match(chineseMessage({ reason: 'SOMETHING_NEW' }), /操作未成功/);
console.log(`reasons: ${names.length} reasons, each with its Chinese message`);
