// A third language from the API alone: Node.js (Debian's nodejs, 18 or later) against a real
// lovebankd, over its HTTP/JSON listener with nothing but the runtime (fetch, child_process) — as
// a WeChat mini-program's or a web page's JavaScript would — and over gRPC with the gRPC
// project's own JavaScript client (@grpc/grpc-js, @grpc/proto-loader; tests/service/node holds
// their pinned versions), stubs made at run time from proto/ alone. Starts lovebankd on free
// loopback ports with a fresh data directory; as admin opens the accounts and creates an issuer
// and a till over HTTP; the issuer earns in Chinese and retries (exactly once); the till reads
// the balance and is refused an overdraft with its reason; a misspelt field is refused 400. Then
// over gRPC: an earn whose retry over HTTP is the same entry, a balance equal to HTTP's, and a
// refusal whose reason is read from the status details (ErrorDetail); then SIGTERM.
//
// usage: node node_client_test.mjs LOVEBANKD WORK_DIR NODE_DEPS_DIR PROTO_DIR
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import assert from 'node:assert/strict';

const [lovebankd, work, depsDir, protoDir] = process.argv.slice(2);
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const data = join(work, 'data');
// The npm packages live in the build tree (`npm ci` there is this test's fixture).
const require = createRequire(join(depsDir, 'package.json'));
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');

const daemon = spawn(lovebankd, ['--listen', '127.0.0.1:0', '--data-dir', data, '--init',
  '--clock-start', '2026-11-20T08:00:00Z', '--http-listen', '127.0.0.1:0'],
{ stdio: ['ignore', 'ignore', 'pipe'] });
let log = '';
const [grpcPort, httpPort] = await new Promise((resolve, reject) => {
  daemon.stderr.setEncoding('utf8');
  daemon.stderr.on('data', (chunk) => {
    log += chunk;
    const http = log.match(/serving HTTP\/JSON on port (\d+)/);
    const rpc = log.match(/listening on port (\d+)/);
    if (http && rpc) resolve([Number(rpc[1]), Number(http[1])]);
  });
  daemon.on('exit', (code) => reject(new Error(`lovebankd exited ${code}: ${log}`)));
  // unref: the timer alone must not keep Node running 30 s after the test is done.
  setTimeout(() => reject(new Error(`no ports reported: ${log}`)), 30000).unref();
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

// gRPC: the services from proto/ (field names as in the .proto, 64-bit integers and enums as
// strings, as the HTTP mapping gives them), each call with its bearer token and a deadline.
const api = grpc.loadPackageDefinition(protoLoader.loadSync('lovebank/v1/api.proto', {
  includeDirs: [protoDir], keepCase: true, longs: String, enums: String, defaults: true,
})).lovebank.v1;
const channel = `127.0.0.1:${grpcPort}`;
const ledger = new api.Ledger(channel, grpc.credentials.createInsecure());
function rpc(client, method, request, token) {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return new Promise((resolve, reject) => {
    client[method](request, metadata, { deadline: Date.now() + 10000 },
      (error, response) => (error ? reject(error) : resolve(response)));
  });
}
// A refusal's reason over gRPC: the status details (google.rpc.Status) carry an ErrorDetail.
const schemas = new protobuf.Root();
schemas.resolvePath = (origin, target) => join(protoDir, target);
schemas.loadSync(['google/rpc/status.proto', 'lovebank/v1/api.proto'], { keepCase: true });
function reasonOf(error) {
  const [details] = error.metadata.get('grpc-status-details-bin');
  const status = schemas.lookupType('google.rpc.Status').decode(details);
  assert.equal(status.details[0].type_url, 'type.googleapis.com/lovebank.v1.ErrorDetail');
  const detail = schemas.lookupType('lovebank.v1.ErrorDetail').decode(status.details[0].value);
  return schemas.lookupEnum('lovebank.v1.Reason').valuesById[detail.reason];
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

  // The same API over gRPC: an earn, whose retry over HTTP is the same entry (one ledger, one
  // request id, whichever transport), a balance equal to HTTP's, and a refusal by its reason.
  const progress = { request_id: 'node-grpc-earn-1', issuer: 'issuer:town', member: 'M0001',
    asset: 'POINTS', amount: '500', reason: '学习进步明显 (clear progress)' };
  const viaGrpc = await rpc(ledger, 'Earn', progress, issuer);
  assert.equal(viaGrpc.hash.length, 64);
  assert.equal(viaGrpc.replayed, false);
  const [, viaHttp] = await post('Ledger/Earn', { requestId: progress.request_id,
    issuer: progress.issuer, member: progress.member, asset: progress.asset,
    amount: progress.amount, reason: progress.reason }, issuer);
  assert.equal(viaHttp.seq, viaGrpc.seq, 'the HTTP retry of a gRPC earn is the same entry');
  assert.equal(viaHttp.hash, viaGrpc.hash);
  assert.equal(viaHttp.replayed, true);
  const grpcBalance = await rpc(ledger, 'GetBalance', { account: 'M0001' }, till);
  const [, httpBalance] = await post('Ledger/GetBalance', { account: 'M0001' }, till);
  assert.deepEqual(grpcBalance.balances.map((b) => [b.asset, b.amount]), [['POINTS', '3454.50']]);
  assert.deepEqual(httpBalance.balances.map((b) => [b.asset, b.amount]),
    grpcBalance.balances.map((b) => [b.asset, b.amount]));
  assert.equal(httpBalance.asOfSeq, grpcBalance.as_of_seq);
  const overdraft = await rpc(ledger, 'Redeem', { request_id: 'node-grpc-sale-1',
    member: 'M0001', store: 'store:main', asset: 'POINTS', amount: '99999' }, till)
    .then(() => null, (error) => error);
  assert.ok(overdraft, 'an overdraft was accepted over gRPC');
  assert.equal(overdraft.code, grpc.status.FAILED_PRECONDITION);
  assert.equal(reasonOf(overdraft), 'REASON_INSUFFICIENT_BALANCE');
  const unknown = await rpc(ledger, 'GetBalance', { account: 'M0001' }, 'lb_' + '0'.repeat(64))
    .then(() => null, (error) => error);
  assert.equal(unknown.code, grpc.status.UNAUTHENTICATED);
  assert.equal(reasonOf(unknown), 'REASON_TOKEN_UNKNOWN');
  ledger.close();
  console.log('node client: earn (exactly once across gRPC and HTTP), balance and refusals ' +
    'by reason over gRPC OK');
} catch (error) {
  failure = error;
}
daemon.kill('SIGTERM');
// 'close': the process has exited and its stderr is read to the end.
const code = await new Promise((resolve) => daemon.on('close', resolve));
if (failure) throw failure;
assert.equal(code, 0, `lovebankd exited ${code}: ${log}`);
assert.match(log, /stopped cleanly/);
