// A third language from the API alone: Node.js (Debian's nodejs, 18 or later) against a real
// lovebankd over its HTTP/JSON listener, with nothing but the runtime (fetch, child_process) — as
// a WeChat mini-program's or a web page's JavaScript would. Starts lovebankd on free loopback ports
// with a fresh data directory; as admin opens the accounts and creates an issuer and a till over
// HTTP; the issuer earns in Chinese and retries (exactly once); the till reads the balance and is
// refused an overdraft with its reason; a misspelt field is refused 400; then SIGTERM.
//
// usage: node node_client_test.mjs LOVEBANKD WORK_DIR
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';

const [lovebankd, work] = process.argv.slice(2);
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const data = join(work, 'data');

const daemon = spawn(lovebankd, ['--listen', '127.0.0.1:0', '--data-dir', data, '--init',
  '--clock-start', '2026-11-20T08:00:00Z', '--http-listen', '127.0.0.1:0'],
{ stdio: ['ignore', 'ignore', 'pipe'] });
let log = '';
const httpPort = await new Promise((resolve, reject) => {
  daemon.stderr.setEncoding('utf8');
  daemon.stderr.on('data', (chunk) => {
    log += chunk;
    const match = log.match(/serving HTTP\/JSON on port (\d+)/);
    if (match) resolve(Number(match[1]));
  });
  daemon.on('exit', (code) => reject(new Error(`lovebankd exited ${code}: ${log}`)));
  setTimeout(() => reject(new Error(`no HTTP port reported: ${log}`)), 30000);
});

// POST /v1/<route> with a JSON body as `token`: [HTTP status, the JSON answer].
async function post(route, body, token) {
  const answer = await fetch(`http://127.0.0.1:${httpPort}/v1/${route}`, {
    method: 'POST',
    headers: { 'Authorization': `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return [answer.status, await answer.json()];
}

let failure = null;
try {
  const admin = readFileSync(join(data, 'admin.token'), 'utf8').trim();
  for (const [account, kind, name, budgets] of [
    ['issuer:town', 'ACCOUNT_KIND_ISSUER', '爱心银行', [{ asset: 'POINTS', amount: '10000' }]],
    ['store:main', 'ACCOUNT_KIND_STORE', '爱心超市', []],
    ['M0001', 'ACCOUNT_KIND_MEMBER', '韦蕊', []]]) {
    const [status, receipt] = await post('Ledger/OpenAccount',
      { requestId: `open-${account}`, account, kind, displayName: name, budgets }, admin);
    assert.equal(status, 200, JSON.stringify(receipt));
  }
  const grant = async (principal, role, account) => {
    const [status, created] = await post('Admin/CreatePrincipal',
      { requestId: `grant-${principal}`, principal, role, accounts: [account] }, admin);
    assert.equal(status, 200, JSON.stringify(created));
    return created.token;
  };
  const issuer = await grant('social-worker', 'ROLE_ISSUER', 'issuer:town');
  const till = await grant('till-1', 'ROLE_TERMINAL', 'store:main');

  const award = { requestId: 'node-earn-1', issuer: 'issuer:town', member: 'M0001',
    asset: 'POINTS', amount: '3000', reason: '考上大学 (university admission)' };
  const [earned, first] = await post('Ledger/Earn', award, issuer);
  assert.equal(earned, 200, JSON.stringify(first));
  assert.equal(first.hash.length, 64);
  const [, retry] = await post('Ledger/Earn', award, issuer);
  assert.equal(retry.seq, first.seq, 'a retry is the same entry');

  const [sold, sale] = await post('Ledger/Redeem', { requestId: 'node-sale-1', member: 'M0001',
    store: 'store:main', asset: 'POINTS', amount: '45.50', memo: '食用油 5L ×1' }, till);
  assert.equal(sold, 200, JSON.stringify(sale));
  const [, balance] = await post('Ledger/GetBalance', { account: 'M0001' }, till);
  assert.deepEqual(balance.balances.map((b) => [b.asset, b.amount]), [['POINTS', '2954.50']]);
  const [, member] = await post('Ledger/GetAccount', { account: 'M0001' }, till);
  assert.equal(member.displayName, '韦蕊');

  const [refused, why] = await post('Ledger/Redeem', { requestId: 'node-sale-2',
    member: 'M0001', store: 'store:main', asset: 'POINTS', amount: '9999' }, till);
  assert.equal(refused, 412);
  assert.equal(why.reason, 'INSUFFICIENT_BALANCE');
  assert.equal(why.code, 'FAILED_PRECONDITION');
  const [bad, typo] = await post('Ledger/Redeem', { requestId: 'node-sale-3', amout: '1' }, till);
  assert.equal(bad, 400);
  assert.equal(typo.reason, 'HTTP_BODY_INVALID');
  const [denied, role] = await post('Ledger/Earn', { ...award, requestId: 'node-earn-2' }, till);
  assert.equal(denied, 403);
  assert.equal(role.reason, 'PERMISSION_DENIED');
  console.log('node client: accounts, principals, earn (exactly once), redeem, balance and ' +
    'refusals by reason over HTTP/JSON OK');
} catch (error) {
  failure = error;
}
daemon.kill('SIGTERM');
// 'close': the process has exited and its stderr is read to the end.
const code = await new Promise((resolve) => daemon.on('close', resolve));
if (failure) throw failure;
assert.equal(code, 0, `lovebankd exited ${code}: ${log}`);
assert.match(log, /stopped cleanly/);
