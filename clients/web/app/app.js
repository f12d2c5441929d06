// The volunteer's / student's phone page (/app/): activate with the social worker's code, see
// hours and points with the star level, the history (live), show the payment code (付款码), ask
// for help and take requests nearby (hours buy services), give (转赠), set a PIN and download the
// volunteer certificate. The heading carries the programme's name, and the history names stores,
// goods and award rules as the programme profile and the catalogue do (the codes when they do not).
// The device's token and payment secret stay in this browser's localStorage only.
import { call, el, show, localTime, assetName, paymentCode, pinCodeKey, requestId, watch, Refused,
  pageError, RETRYABLE, errorLine } from '../common/lovebank.js';
import { qrSvg } from '../common/qr.js';
import { requestForm, serviceList } from '../common/services.js';
import { programme, heading, catalogue, itemName } from '../common/profile.js';

const main = document.getElementById('main');
const STORE = 'lovebank.device';
const device = JSON.parse(localStorage.getItem(STORE) || 'null');

// The next payment code of this phone: a new index in each 30-second window (each code once).
// `key`: the payment secret, or with a PIN the PIN's code key (64 hex).
async function nextCode(key) {
  const now = Date.now();
  const window = Math.floor(now / 30000);
  const used = JSON.parse(localStorage.getItem('lovebank.codes') || '{}');
  if (used.window === window && used.index >= 9) {
    // Ten codes in one 30-second window: an eleventh would repeat an index (refused as used).
    throw pageError(`请 ${30 - Math.floor((now / 1000) % 30)} 秒后再出示付款码`);
  }
  const index = used.window === window ? used.index + 1 : 0;
  localStorage.setItem('lovebank.codes', JSON.stringify({ window, index }));
  return { code: await paymentCode(key, device.number, now, index), left: 30 - Math.floor((now / 1000) % 30) };
}

// The key codes are made with now: the bare secret, or with a PIN the PIN's code key — made from
// the PIN as typed, which is cleared at once; the key is held in memory for 60 s at most.
let held = { key: null, until: 0 };
async function codeKey(pinInput) {
  if (!device.pin) return device.secret;
  if (/^\d{4,12}$/.test(pinInput.value)) {
    held = { key: await pinCodeKey(device.secret, pinInput.value), until: Date.now() + 60000 };
    pinInput.value = '';
  }
  if (held.key && Date.now() < held.until) return held.key;
  held = { key: null, until: 0 };
  throw pageError('请先输入付款密码');
}

function activation() {
  const code = el('input', { id: 'activation-code', autocomplete: 'off', autocapitalize: 'characters',
    placeholder: 'XXXX-XXXX-XXXX-XXXX' });
  // Opened from the social worker's QR (…/app/#code=XXXX-…): the code is already typed.
  const linked = new URLSearchParams(location.hash.slice(1)).get('code');
  if (linked) code.value = linked;
  const name = el('input', { id: 'device-name', placeholder: '例如：韦蕊的手机' });
  const message = el('div');
  const button = el('button', { id: 'activate', type: 'submit' }, '激活');
  const form = el('form', {}, el('h2', {}, '激活本机'),
    el('p', {}, '请输入社工给您的激活码（每个激活码只能用一次）。'),
    el('label', { for: 'activation-code' }, '激活码'), code,
    el('label', { for: 'device-name' }, '设备名称（可不填）'), name, button, message);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    button.disabled = true;
    try {
      const got = await call('Admin/Activate', { code: code.value, deviceName: name.value }, '');
      localStorage.setItem(STORE, JSON.stringify({ token: got.token, principal: got.principal,
        account: got.account, secret: got.paymentSecret, number: got.deviceNumber }));
      location.reload();
    } catch (error) {
      show(message, errorLine(error));
      button.disabled = false;
    }
  });
  show(main, form);
}

// The programme's profile, once home() has loaded it (see programme in common/profile.js).
let programmeProfile = null;

// The stores the entries name (a sale, a hold, a redemption): their catalogues name the SKUs.
function storesOf(items) {
  const stores = new Set();
  for (const { command: c = {} } of items) {
    if (c.checkout) stores.add(c.checkout.store);
    if (c.authorizeHold) stores.add(c.authorizeHold.store);
    if (c.redeem) stores.add(c.redeem.to);
  }
  return [...stores].filter(Boolean);
}

// What the history needs to name `items` (the catalogues of their stores), loaded: never throws.
function namesFor(items) {
  return Promise.all(storesOf(items).map((store) => catalogue(store, device.token)));
}

// " · 南溪镇爱心超市": the store's display name in the profile; "" when it has none.
function storeText(store) {
  const named = programmeProfile ? programmeProfile.displayName(store, '') : '';
  return named ? ` · ${named}` : '';
}

// "：东北大米 5kg ×2、肥皂 ×1": a basket's lines by the catalogue's names (a SKU it does not name
// as itself); `store` null: any catalogue loaded (a refund names no store).
function basketText(lines, store) {
  const named = (lines || []).map((line) => `${itemName(line.sku, store)} ×${line.quantity}`);
  return named.length ? `：${named.join('、')}` : '';
}

// "爱心超市购物 · 南溪镇爱心超市：东北大米 5kg ×2": a sale or a hold, its store and its basket.
function basketAt(what, basket) {
  return `${what}${storeText(basket.store)}${basketText(basket.lines, basket.store)}`;
}

// "奖励：考上大学奖励（考上南京大学）" when the profile names the rule, else the reason (or the code).
function awardText(award) {
  const named = programmeProfile ? programmeProfile.displayName(award.rule, '') : '';
  if (!named) return `奖励：${award.reason || award.rule}`;
  return `奖励：${named}${award.reason ? `（${award.reason}）` : ''}`;
}

function describe(item) {
  const c = item.command || {};
  if (c.earn) return c.earn.activity ? `服务：${c.earn.activity.name || c.earn.activity.category || ''}` : `奖励：${c.earn.reason || ''}`;
  if (c.award) return awardText(c.award);
  if (c.approve) return '审批通过，已到账';
  if (c.checkout) return basketAt('爱心超市购物', c.checkout);
  if (c.refund) return `爱心超市退货${basketText(c.refund.lines, null)}`;
  if (c.redeem) return `爱心超市兑换${storeText(c.redeem.to)}`;
  if (c.deduct) return `扣减：${c.deduct.reason || ''}`;
  if (c.transfer && c.transfer.to === device.account) return `收到转赠（来自 ${c.transfer.from}）`;
  if (c.transfer) return `转赠 ${c.transfer.from} → ${c.transfer.to}`;
  if (c.reverse) return `撤销第 ${c.reverse.seq} 条`;
  if (c.authorizeHold) return basketAt('预授权', c.authorizeHold);
  if (c.captureHold) return '预授权完成';
  if (c.voidHold || c.releaseHold) return '预授权取消';
  if (c.postService) return `发布${c.postService.kind === 'SERVICE_KIND_OFFER' ? '服务' : '求助'}：${c.postService.category}`;
  if (c.acceptService) return `求助 ${c.acceptService.serviceSeq} 已接单，时长预留`;
  if (c.completeService) return `求助 ${c.completeService.serviceSeq} 已登记 ${c.completeService.hours} 小时`;
  if (c.confirmService) return `求助 ${c.confirmService.serviceSeq} 已确认，时长结算`;
  if (c.resolveService) return `求助 ${c.resolveService.serviceSeq} 社工裁定`;
  if (c.disputeService) return `求助 ${c.disputeService.serviceSeq} 有异议`;
  if (c.cancelService) return `求助 ${c.cancelService.serviceSeq} 已取消`;
  if (c.expireService) return `求助 ${c.expireService.serviceSeq} 已过期`;
  return '账户变更';
}

// A leg's asset: hours and points by their Chinese names, goods (an SKU's stock) by the catalogue's.
function legAsset(asset) {
  return asset === 'HOURS' || asset === 'POINTS' ? assetName(asset) : itemName(asset);
}

// One line of the history. REQUIRES: namesFor([item]) has settled (else SKUs show as codes).
function historyRow(item) {
  const legs = (item.legs || []).map((leg) => el('div', { class: leg.amount.startsWith('-') ? 'minus' : 'plus' },
    `${legAsset(leg.asset)} ${leg.amount.startsWith('-') ? '' : '+'}${leg.amount}（余 ${leg.balanceAfter}）`));
  return el('tr', { 'data-seq': item.seq },
    el('td', {}, localTime(item.timeUnixUs), el('div', { class: 'muted' }, describe(item)),
      item.command && item.command.memo ? el('div', { class: 'muted' }, item.command.memo) : null),
    el('td', { class: 'num' }, legs));
}

async function home() {
  const { token, account } = device;
  const loading = programme(token);  // never throws: without it, the page as it was
  // Whether this phone has a PIN is the ledger's word (a social worker may have cleared it).
  try {
    const me = await call('Admin/WhoAmI', {}, token);
    device.pin = Boolean(me.pinKeyWrapped);
    localStorage.setItem(STORE, JSON.stringify(device));
  } catch (error) { /* shown below, with the account's own calls */ }
  programmeProfile = await loading;
  if (programmeProfile.name) heading(programmeProfile.name, '我的账户');
  const balances = el('div', { class: 'balances', id: 'balances' });
  const star = el('p', { id: 'star' });
  const rows = el('tbody', { id: 'history' });
  const more = el('button', { class: 'secondary', id: 'more' }, '更多记录');
  const codeBox = el('div', { id: 'payment' });
  const pinInput = el('input', { id: 'pin', type: 'password', inputmode: 'numeric', autocomplete: 'off',
    placeholder: '付款密码' });
  if (!device.pin) pinInput.hidden = true;
  const live = el('span', { class: 'muted', id: 'live' }, '');
  const message = el('div');
  const name = el('span', { id: 'member-name' }, account);
  show(main,
    el('section', {}, el('h2', {}, name, ' ', el('span', { class: 'muted' }, account), ' ', live), balances, star),
    el('section', {}, el('h2', {}, '付款码'),
      el('p', { class: 'muted' }, '在爱心超市结账时出示，30 秒内有效，每个码只能用一次。'),
      pinInput,
      el('button', { id: 'show-code', onclick: () => paymentBox(codeBox, pinInput) }, '出示付款码'), codeBox),
    ...servicesSections(token, account, pinInput),
    giveForm(pinInput), pinForm(pinInput),
    el('section', {}, el('h2', {}, '收支记录'), el('table', {}, rows), more),
    certificateForm(),
    message);
  let cursor = '';
  async function refreshBalances() {
    const got = await call('Ledger/GetBalance', { account }, token);
    // Hours and points: what a member spends (goods taken home are stock, not a balance).
    const spendable = (got.balances || []).filter((b) => b.asset === 'HOURS' || b.asset === 'POINTS');
    show(balances, spendable.map((b) => el('div', { class: 'balance', 'data-asset': b.asset },
      el('div', {}, assetName(b.asset)), el('div', { class: 'amount' }, b.amount))));
    try {
      const profile = await call('Programme/GetVolunteerProfile', { account }, token);
      show(star, `星级：${'★'.repeat(profile.starLevel || 0) || '暂无'}　累计服务 ${profile.cumulativeHours} 小时`,
        profile.hoursToNextStar ? `，再服务 ${profile.hoursToNextStar} 小时升星` : '');
    } catch (error) { show(star); }
    return got.asOfSeq;
  }
  async function page() {
    const got = await call('Ledger/ListEntries', { account, pageSize: 20, cursor }, token);
    await namesFor(got.items || []);
    for (const item of got.items || []) rows.append(historyRow(item));
    cursor = got.nextCursor || '';
    more.hidden = !cursor;
  }
  more.addEventListener('click', () => page().catch((error) => show(message, errorLine(error))));
  try {
    const got = await call('Ledger/GetAccount', { account }, token);
    show(name, got.displayName || account);
    const head = await refreshBalances();
    await page();
    // New entries in the order they came, each once its store's catalogue has loaded.
    let arriving = Promise.resolve();
    watch(account, head, token, (item) => {
      arriving = arriving.then(() => namesFor([item])).then(() => {
        if (!rows.querySelector(`tr[data-seq="${item.seq}"]`)) rows.prepend(historyRow(item));
      }).catch(() => {});  // one bad entry never stops the next ones
      refreshBalances().catch(() => {});
    }, (state) => show(live, state === 'live' ? '· 实时' : state === 'revoked' ? '· 已停用' : '· 正在重连'));
  } catch (error) {
    show(message, errorLine(error));
    if (error.reason === 'TOKEN_UNKNOWN') {
      main.append(el('button', { onclick: () => { localStorage.removeItem(STORE); location.reload(); } }, '重新激活'));
    }
  }
}

// Hours buy services (docs/exchange.md): ask for help, the open requests nearby (a place this
// phone remembers), and the requests this member asked or serves, each with its next step.
function servicesSections(token, account, pinInput) {
  // A confirmation pays hours: with a PIN, this phone's code made with it (as a 转赠).
  const viewer = { account, code: async () => (device.pin ? (await nextCode(await codeKey(pinInput))).code : '') };
  const both = () => { mine.refresh(); nearby.refresh(); };
  const mine = serviceList({ token, viewer, id: 'my-services', title: '我的求助与服务',
    filter: { member: account }, emptyText: '还没有求助或接单', onChange: both });
  const place = el('input', { id: 'nearby-place', placeholder: '村/社区，例如：柳树村',
    value: localStorage.getItem('lovebank.place') || '' });
  const nearby = serviceList({ token, viewer, id: 'nearby', title: '附近的求助',
    filter: () => ({ kind: 'SERVICE_KIND_REQUEST', openOnly: true, place: place.value.trim() }),
    emptyText: '附近暂时没有待接单的求助', onChange: both,
    controls: [el('label', { for: 'nearby-place' }, '地点'), place,
      el('button', { id: 'nearby-search', class: 'secondary', onclick: () => {
        localStorage.setItem('lovebank.place', place.value.trim());
        nearby.refresh();
        mine.refresh();
      } }, '查找')] });
  const ask = requestForm({ token, member: account, onPosted: both });
  return [ask, nearby, mine];
}

// The payment code, new every 30 s (and a new index for each code shown in one window).
async function paymentBox(box, pinInput) {
  clearTimeout(paymentBox.timer);
  let made;
  try {
    made = await nextCode(await codeKey(pinInput));
  } catch (error) {
    show(box, errorLine(error));
    return;
  }
  const { code, left } = made;
  show(box, el('div', { id: 'payment-qr' }, qrSvg(code, 260)),
    el('p', { class: 'code', id: 'payment-code' }, code.replace(/(\d{4})(?=\d)/g, '$1 ')),
    el('p', { class: 'muted' }, `${left} 秒后自动更新`));
  paymentBox.timer = setTimeout(() => paymentBox(box, pinInput), left * 1000);
}

// 转赠: hours or points to family (as the programme's policy allows), with this phone's code.
function giveForm(pinInput) {
  const to = el('input', { id: 'give-to', placeholder: '对方会员编号' });
  const asset = el('select', { id: 'give-asset' }, el('option', { value: 'HOURS' }, '服务时长'),
    el('option', { value: 'POINTS' }, '爱心积分'));
  const amount = el('input', { id: 'give-amount', inputmode: 'decimal', placeholder: '数量' });
  const message = el('div', { id: 'give-message' });
  let id = requestId('give');
  for (const input of [to, asset, amount]) input.addEventListener('input', () => { id = requestId('give'); });
  const button = el('button', { id: 'give', onclick: async () => {
    try {
      const { code } = await nextCode(await codeKey(pinInput));
      await call('Ledger/Transfer', { requestId: id, from: device.account, to: to.value.trim(),
        asset: asset.value, amount: amount.value.trim(), paymentCode: code }, device.token);
      show(message, el('p', { class: 'ok' }, '已转赠'));
      id = requestId('give');
    } catch (error) {
      show(message, errorLine(error));
      if (error.reason && !RETRYABLE.has(error.reason)) id = requestId('give');  // final
    }
  } }, '转赠');
  return el('section', {}, el('h2', {}, '转赠'), el('label', { for: 'give-to' }, '转给'), to,
    el('label', { for: 'give-asset' }, '转赠什么'), asset, el('label', { for: 'give-amount' }, '数量'), amount,
    button, message);
}

// The volunteer certificate (志愿服务证明): the page lovebankd makes with the same code as
// `lovebank certificate` (Programme.GetCertificate), saved as a file to print, send or show; a
// school or employer checks it with `lovebank verify-certificate`.
function certificateForm() {
  const from = el('input', { id: 'certificate-from', type: 'date' });
  const to = el('input', { id: 'certificate-to', type: 'date' });
  const message = el('div', { id: 'certificate-message' });
  let url = null;  // the last certificate's file: freed when a new one is made
  const button = el('button', { id: 'certificate', class: 'secondary', onclick: async () => {
    try {
      const got = await call('Programme/GetCertificate', { account: device.account,
        from: from.value, to: to.value }, device.token);
      if (url) URL.revokeObjectURL(url);
      url = URL.createObjectURL(new Blob([got.html], { type: 'text/html;charset=utf-8' }));
      const link = el('a', { href: url, download: got.fileName, id: 'certificate-file' }, `保存 ${got.fileName}`);
      show(message, el('p', { class: 'ok' }, `共 ${got.activities || 0} 次活动，${got.totalHours} 小时。`), link);
      link.click();
    } catch (error) { show(message, errorLine(error)); }
  } }, '下载志愿服务证明');
  return el('section', {}, el('h2', {}, '志愿服务证明'),
    el('p', { class: 'muted' }, '列出服务活动和时长，附核验信息；不填日期即全部。'),
    el('label', { for: 'certificate-from' }, '从'), from, el('label', { for: 'certificate-to' }, '到'), to,
    button, message);
}

// The PIN (付款密码): a stolen phone pays nothing without it. Setting it again, or clearing it,
// needs the current one (a code made with it). The PIN itself never leaves the phone.
function pinForm(pinInput) {
  const fresh = el('input', { id: 'new-pin', type: 'password', inputmode: 'numeric', autocomplete: 'off',
    placeholder: '6 位数字，不要用生日或银行卡密码' });
  const message = el('div', { id: 'pin-message' });
  const button = el('button', { id: 'set-pin', class: 'secondary', onclick: async () => {
    if (!/^\d{6}$/.test(fresh.value)) return show(message, el('p', { class: 'error' }, '请设置 6 位数字密码'));
    try {
      const proof = device.pin ? (await nextCode(await codeKey(pinInput))).code : '';
      await call('Admin/SetDevicePin', { requestId: requestId('pin'),
        pinCodeKey: await pinCodeKey(device.secret, fresh.value), paymentCode: proof }, device.token);
      device.pin = true;
      localStorage.setItem(STORE, JSON.stringify(device));
      pinInput.hidden = false;
      pinInput.value = '';
      fresh.value = '';
      show(message, el('p', { class: 'ok', id: 'pin-set' }, '付款密码已设置：出示付款码和转赠时需要输入'));
    } catch (error) { show(message, errorLine(error)); }
  } }, '设置付款密码');
  return el('section', {}, el('h2', {}, '付款密码'),
    el('p', { class: 'muted' }, device.pin ? '已设置。修改时请先在上方输入当前密码。' : '设置后，手机丢了别人也付不了款。'),
    el('label', { for: 'new-pin' }, '新密码'), fresh, button, message);
}

if (!window.isSecureContext) {
  // WebCrypto (the payment code) exists only on https:// or on this machine's own address.
  show(main, el('p', { class: 'error' },
    '请用 https:// 地址打开本页（付款码需要安全连接），请联系管理员。'));
} else if (device && device.token) home(); else activation();
