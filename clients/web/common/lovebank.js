// What every page shares: calls to lovebankd's HTTP/JSON API on this same origin, refusals in
// Chinese, the payment code (the algorithm of docs/members.md, with WebCrypto), live updates
// (Ledger.WatchEntries as NDJSON) and a DOM builder that only ever sets text (no HTML from data).
import { chineseMessage } from './reasons.js';

export { chineseMessage };

// A refused call: `reason` as lovebankd named it, `chinese` for people.
export class Refused extends Error {
  constructor(answer, status) {
    super(answer && answer.message ? answer.message : `HTTP ${status}`);
    this.status = status;
    this.reason = (answer && answer.reason) || 'RPC_FAILED';
    this.chinese = chineseMessage({ reason: this.reason });
  }
}

// A refusal decided by the page itself (before any call), in Chinese.
export function pageError(chinese) {
  return Object.assign(new Error(chinese), { chinese });
}

// Refusals the ledger does not remember: the same request id may be sent again (after a new
// payment code, or once the server is back). Any other refusal is final for its request id.
export const RETRYABLE = new Set(['RPC_FAILED', 'LEDGER_BUSY', 'LEDGER_UNAVAILABLE',
  'PAYMENT_CODE_REQUIRED', 'PAYMENT_CODE_INVALID', 'PAYMENT_CODE_LOCKED', 'HTTP_STREAMS_FULL']);

// POST /v1/<route> with `body` as JSON, with `token` (may be empty); the answer's JSON, or throws
// Refused. A network failure is RPC_FAILED.
export async function call(route, body, token) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  let answer;
  try {
    answer = await fetch(`/v1/${route}`, { method: 'POST', headers, body: JSON.stringify(body) });
  } catch (error) {
    throw new Refused({ reason: 'RPC_FAILED', message: String(error) }, 0);
  }
  const json = await answer.json().catch(() => ({}));
  if (!answer.ok) throw new Refused(json, answer.status);
  return json;
}

// A new request id: retries of one action reuse it (exactly once), new actions get a new one.
export function requestId(kind) {
  const random = new Uint8Array(8);
  crypto.getRandomValues(random);
  return `${kind}-${Array.from(random, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

// el('p', {class: 'x'}, 'text', child...): an element with text children only (strings become
// text nodes, so names and memos from the ledger can never become markup).
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// A refusal or a page error for people: in Chinese, as an alert (with `id` when given).
export function errorLine(error, id = null) {
  return el('p', { class: 'error', role: 'alert', ...(id ? { id } : {}) },
    error.chinese || `出错了：${error.message || error}`);
}

export function show(target, ...children) {
  target.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined));
}

// "2026-11-20 16:00" in China's time, from unix microseconds (a string or a number).
export function localTime(unixUs) {
  const date = new Date(Number(BigInt(unixUs) / 1000n));
  return date.toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false,
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
}

export const ASSET_NAMES = { HOURS: '服务时长', POINTS: '爱心积分' };
export function assetName(asset) { return ASSET_NAMES[asset] || asset; }

function hexToBytes(hex) {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i += 1) bytes[i] = parseInt(hex.substr(2 * i, 2), 16);
  return bytes;
}

// The payment code (付款码) of docs/members.md: device number ‖ index ‖ 12 digits of
// HMAC-SHA256(key, counter as 8 bytes big-endian), counter = (unix seconds / 30) × 10 + index.
// `keyHex`: the payment secret (or, with a PIN, the PIN's code key), 64 hex.
export async function paymentCode(keyHex, deviceNumber, unixMs, index) {
  const key = await crypto.subtle.importKey('raw', hexToBytes(keyHex),
    { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const counter = BigInt(Math.floor(unixMs / 1000 / 30)) * 10n + BigInt(index);
  const message = new Uint8Array(8);
  new DataView(message.buffer).setBigUint64(0, counter, false);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, message));
  const value = new DataView(mac.buffer).getBigUint64(0, false) % 1000000000000n;
  return `${deviceNumber}${index}${value.toString().padStart(12, '0')}`;
}

// A PIN's code key (docs/members.md "The PIN"), 64 hex: HMAC-SHA256(payment secret,
// "lovebank pin v1" ‖ PIN). The phone sends this, never the PIN, and makes its codes from it.
export async function pinCodeKey(secretHex, pin) {
  const key = await crypto.subtle.importKey('raw', hexToBytes(secretHex),
    { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key,
    new TextEncoder().encode(`lovebank pin v1${pin}`)));
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join('');
}

// Ledger.WatchEntries for `account` after `afterSeq`, as NDJSON over a long-lived POST: calls
// onItem(StatementItem) per new entry and resumes after the last one it saw when the stream
// ends (the server's idle end, a network drop, a phone that slept). stop() ends it for good.
export function watch(account, afterSeq, token, onItem, onState = () => {}) {
  let after = BigInt(afterSeq || 0);
  let stopped = false;
  let controller = null;
  async function once() {
    controller = new AbortController();
    const answer = await fetch('/v1/Ledger/WatchEntries', {
      method: 'POST', signal: controller.signal,
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify({ account, afterSeq: after.toString(), idleSeconds: 25 }),
    });
    if (!answer.ok) throw new Refused(await answer.json().catch(() => ({})), answer.status);
    onState('live');
    const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += value;
      let newline;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (!line) continue;
        const message = JSON.parse(line);
        if (message.reason) throw new Refused(message, 0);  // the stream's last line: its error
        if (message.item) {
          after = BigInt(message.item.seq);
          onItem(message.item);
        }
      }
    }
  }
  const visible = () => new Promise((resolve) => {
    if (document.visibilityState !== 'hidden') return resolve();
    document.addEventListener('visibilitychange', resolve, { once: true });
  });
  (async () => {
    let pause = 500;
    while (!stopped) {
      // A hidden page holds no stream (each holds one of the server's HTTP threads).
      await visible();
      try {
        await once();
        pause = 500;  // the server's idle end: at once again
      } catch (error) {
        if (stopped) return;
        if (error.reason === 'TOKEN_UNKNOWN' || error.reason === 'PERMISSION_DENIED') {
          onState('revoked', error);
          return;
        }
        onState('offline', error);
        await new Promise((resolve) => { setTimeout(resolve, pause); });
        pause = Math.min(pause * 2, 10000);
      }
    }
  })();
  const onVisibility = () => {
    // Hidden: give the stream back. Woken: the old stream may be dead without an error.
    if (controller) controller.abort();
  };
  document.addEventListener('visibilitychange', onVisibility);
  return {
    stop() {
      stopped = true;
      document.removeEventListener('visibilitychange', onVisibility);
      if (controller) controller.abort();
    },
  };
}
