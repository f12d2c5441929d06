// The volunteer's / student's phone page (/app/): activate with the social worker's code, see
// hours and points with the star level, the history (live), and show the payment code (付款码).
// The device's token and payment secret stay in this browser's localStorage only.
import { call, el, show, localTime, assetName, paymentCode, watch, Refused } from '../common/lovebank.js';

const main = document.getElementById('main');
const STORE = 'lovebank.device';
const device = JSON.parse(localStorage.getItem(STORE) || 'null');

function errorLine(error) {
  return el('p', { class: 'error', role: 'alert' },
    error instanceof Refused ? error.chinese : `出错了：${error}`);
}

function activation() {
  const code = el('input', { id: 'activation-code', autocomplete: 'off', autocapitalize: 'characters',
    placeholder: 'XXXX-XXXX-XXXX-XXXX' });
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

function describe(item) {
  const c = item.command || {};
  if (c.earn) return c.earn.activity ? `服务：${c.earn.activity.name || c.earn.activity.category || ''}` : `奖励：${c.earn.reason || ''}`;
  if (c.award) return `奖励：${c.award.reason || c.award.rule}`;
  if (c.approve) return '审批通过，已到账';
  if (c.checkout) return '爱心超市购物';
  if (c.refund) return '爱心超市退货';
  if (c.redeem) return '爱心超市兑换';
  if (c.deduct) return `扣减：${c.deduct.reason || ''}`;
  if (c.transfer) return `转赠 ${c.transfer.from} → ${c.transfer.to}`;
  if (c.reverse) return `撤销第 ${c.reverse.seq} 条`;
  if (c.authorizeHold) return '预授权';
  if (c.captureHold) return '预授权完成';
  if (c.voidHold || c.releaseHold) return '预授权取消';
  return '账户变更';
}

function historyRow(item) {
  const legs = (item.legs || []).map((leg) => el('div', { class: leg.amount.startsWith('-') ? 'minus' : 'plus' },
    `${assetName(leg.asset)} ${leg.amount.startsWith('-') ? '' : '+'}${leg.amount}（余 ${leg.balanceAfter}）`));
  return el('tr', { 'data-seq': item.seq },
    el('td', {}, localTime(item.timeUnixUs), el('div', { class: 'muted' }, describe(item)),
      item.command && item.command.memo ? el('div', { class: 'muted' }, item.command.memo) : null),
    el('td', { class: 'num' }, legs));
}

async function home() {
  const { token, account } = device;
  const balances = el('div', { class: 'balances', id: 'balances' });
  const star = el('p', { id: 'star' });
  const rows = el('tbody', { id: 'history' });
  const more = el('button', { class: 'secondary', id: 'more' }, '更多记录');
  const codeBox = el('div', { id: 'payment' });
  const live = el('span', { class: 'muted', id: 'live' }, '');
  const message = el('div');
  const name = el('span', { id: 'member-name' }, account);
  show(main,
    el('section', {}, el('h2', {}, name, ' ', el('span', { class: 'muted' }, account), ' ', live), balances, star),
    el('section', {}, el('h2', {}, '付款码'),
      el('p', { class: 'muted' }, '在爱心超市结账时出示，30 秒内有效，每个码只能用一次。'),
      el('button', { id: 'show-code' , onclick: () => paymentBox(codeBox) }, '出示付款码'), codeBox),
    el('section', {}, el('h2', {}, '收支记录'), el('table', {}, rows), more),
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
    watch(account, head, token, (item) => {
      if (!rows.querySelector(`tr[data-seq="${item.seq}"]`)) rows.prepend(historyRow(item));
      refreshBalances().catch(() => {});
    }, (state) => show(live, state === 'live' ? '· 实时' : '· 正在重连'));
  } catch (error) {
    show(message, errorLine(error));
    if (error.reason === 'TOKEN_UNKNOWN') {
      main.append(el('button', { onclick: () => { localStorage.removeItem(STORE); location.reload(); } }, '重新激活'));
    }
  }
}

// The payment code, new every 30 s (and a new index for each code shown in one window).
async function paymentBox(box) {
  const usedKey = 'lovebank.codes';
  async function draw() {
    const now = Date.now();
    const window = Math.floor(now / 30000);
    const used = JSON.parse(localStorage.getItem(usedKey) || '{}');
    const index = used.window === window ? Math.min(used.index + 1, 9) : 0;
    localStorage.setItem(usedKey, JSON.stringify({ window, index }));
    const code = await paymentCode(device.secret, device.number, now, index);
    const left = 30 - Math.floor((now / 1000) % 30);
    show(box, el('p', { class: 'code', id: 'payment-code' }, code.replace(/(\d{4})(?=\d)/g, '$1 ')),
      el('p', { class: 'muted' }, `${left} 秒后自动更新`));
    return left;
  }
  clearTimeout(paymentBox.timer);
  const left = await draw();
  paymentBox.timer = setTimeout(() => paymentBox(box), left * 1000);
}

if (device && device.token) home(); else activation();
