// The love supermarket's counter (/counter/): a till's token signs in; the cashier finds the
// member (id, name, the phone's last 4 digits or the card) and takes the member's payment code;
// the catalogue priced in points (明码标分) with stock; a basket; pay in points or hours; the
// receipt, printable on an 80 mm thermal printer; goods put aside for a member (预留: a hold of
// the points until collected, then settled or cancelled); refunds of a sale's lines (退货) by
// the receipt's 凭证 number; refusals in Chinese from their reason. The heading and the receipt
// carry the programme's name and the store's display name from the programme profile.
import { call, el, show, localTime, assetName, requestId, Refused, RETRYABLE,
  errorLine as commonErrorLine } from '../common/lovebank.js';
import { programme, heading } from '../common/profile.js';

const main = document.getElementById('main');
const STORE = 'lovebank.till';

// The counter's refusals carry id "error" (the lookup's its own), as the browser test reads them.
const errorLine = (error, id = 'error') => commonErrorLine(error, id);

function signIn(message) {
  const token = el('input', { id: 'till-token', type: 'password', autocomplete: 'off',
    placeholder: 'lb_…' });
  const form = el('form', {}, el('h2', {}, '收银台登录'),
    el('label', { for: 'till-token' }, '收银台令牌（管理员发放）'), token,
    el('button', { id: 'sign-in', type: 'submit' }, '登录'), message || null);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const who = await call('Admin/WhoAmI', {}, token.value.trim());
      if (who.role !== 'ROLE_TERMINAL') throw new Refused({ reason: 'PERMISSION_DENIED' }, 403);
      localStorage.setItem(STORE, JSON.stringify({ token: token.value.trim(),
        store: who.accounts[0], name: who.displayName || who.principal }));
      location.reload();
    } catch (error) {
      signIn(errorLine(error));
    }
  });
  show(main, form);
}

async function counter(till) {
  const { token, store } = till;
  // "南溪镇爱心银行 · 南溪镇爱心超市" with a profile that names both; without one, as before.
  const profile = await programme(token);
  const storeNamed = profile.displayName(store, '');
  const storeHeading = [profile.name, storeNamed || '爱心超市'].filter(Boolean).join(' · ');
  if (profile.name || storeNamed) heading(storeHeading, '收银台');
  const basket = new Map();  // sku -> {item, quantity}
  let items = [];
  let saleId = requestId('sale');  // one sale, retried as often as needed: charged once
  const member = el('input', { id: 'member', placeholder: '会员编号，如 V00001' });
  const memberName = el('div', { id: 'member-name', class: 'muted' });
  const search = el('input', { id: 'search', placeholder: '姓名，或手机尾号 4 位，或卡号' });
  const found = el('div', { id: 'found' });
  const code = el('input', { id: 'payment-code', inputmode: 'numeric', autocomplete: 'off',
    placeholder: '扫描或输入会员的付款码' });
  const catalogue = el('tbody', { id: 'catalogue' });
  const lines = el('tbody', { id: 'basket' });
  const total = el('p', { id: 'total' });
  const payAsset = el('select', { id: 'pay-asset' },
    el('option', { value: 'POINTS' }, '爱心积分'), el('option', { value: 'HOURS' }, '服务时长'));
  const message = el('div', { id: 'message' });
  const receipt = el('div', { id: 'receipt' });

  async function lookUp() {
    const text = search.value.trim();
    // The phone's last 4 digits, a member id (V00001), a card number, else part of the name.
    const query = /^\d{4}$/.test(text) ? { phone: text }
      : /^[A-Za-z]+\d+$/.test(text) ? { idPrefix: text.toUpperCase() }
        : /^[0-9A-Z]{5,32}$/.test(text) ? { cardNumber: text } : { nameContains: text };
    try {
      const got = await call('Ledger/ListAccounts', { ...query, kind: 'ACCOUNT_KIND_MEMBER', pageSize: 20 }, token);
      show(found, (got.accounts || []).map((a) => el('button', { class: 'secondary',
        onclick: () => { member.value = a.account; greet(); } },
      `${a.displayName} ${a.account} ${a.phone || ''}`)));
      if (!(got.accounts || []).length) show(found, el('p', {}, '没有找到'));
    } catch (error) { show(found, errorLine(error)); }
  }
  async function greet() {
    if (!member.value.trim()) return show(memberName);
    try {
      const got = await call('Ledger/GetAccount', { account: member.value.trim() }, token);
      show(memberName, `${got.displayName}${got.status === 'ACCOUNT_STATUS_FROZEN' ? '（已冻结）' : ''}`);
    } catch (error) { show(memberName, errorLine(error, 'member-error')); }
  }
  function drawBasket() {
    let points = 0;
    show(lines, [...basket.values()].map(({ item, quantity }) => {
      points += Number(item.price) * quantity;
      return el('tr', {}, el('td', {}, item.name), el('td', { class: 'num' }, `${quantity} ${item.unit}`),
        el('td', { class: 'num' }, (Number(item.price) * quantity).toFixed(2)),
        el('td', {}, el('button', { class: 'secondary', onclick: () => {
          if (quantity > 1) basket.set(item.sku, { item, quantity: quantity - 1 }); else basket.delete(item.sku);
          saleId = requestId('sale');
          drawBasket();
        } }, '−')));
    }));
    show(total, `合计 ${points.toFixed(2)} 积分`);
  }
  async function loadCatalogue() {
    const got = await call('Supermarket/ListItems', { store }, token);
    items = (got.items || []).filter((item) => item.active);
    show(catalogue, items.map((item) => el('tr', { 'data-sku': item.sku },
      el('td', {}, item.name), el('td', { class: 'num' }, `${item.price} 分/${item.unit}`),
      el('td', { class: 'num' }, `库存 ${item.stock}`),
      el('td', {}, el('button', { class: 'secondary', 'data-add': item.sku, onclick: () => {
        const line = basket.get(item.sku);
        basket.set(item.sku, { item, quantity: line ? line.quantity + 1 : 1 });
        saleId = requestId('sale');
        drawBasket();
      } }, '加入')))));
  }
  async function pay() {
    show(message);
    try {
      const got = await call('Supermarket/Checkout', { requestId: saleId, member: member.value.trim(),
        store, payAsset: payAsset.value, paymentCode: code.value.replace(/\s/g, ''),
        lines: [...basket.values()].map(({ item, quantity }) => ({ sku: item.sku, quantity })) }, token);
      show(receipt, el('h2', { id: 'receipt-heading' }, `${storeHeading} 收据`),
        el('p', {}, `${till.name}　${localTime(got.timeUnixUs)}`),
        el('p', {}, `会员 ${memberName.textContent} ${member.value.trim()}`),
        el('table', {}, el('tbody', {}, (got.lines || []).map((line) => el('tr', {},
          el('td', {}, line.name || line.sku), el('td', { class: 'num' }, `×${line.quantity}`),
          el('td', { class: 'num' }, line.amount || line.price || ''))))),
        el('p', { id: 'receipt-total' }, got.payAsset === 'HOURS'
          ? `合计 ${got.totalPoints} 积分，付 ${got.hours} 小时服务时长`
          : `合计 ${got.totalPoints} 积分`),
        (got.balancesAfter || []).filter((b) => b.account === member.value.trim() &&
          (b.asset === 'POINTS' || b.asset === 'HOURS')).map((b) =>
          el('p', {}, `${assetName(b.asset)}余额 ${b.amount}`)),
        el('p', { class: 'muted' }, `凭证 第 ${got.seq} 条 ${got.hash.slice(0, 16)}…`),
        el('button', { onclick: () => window.print() }, '打印收据'),
        el('button', { class: 'secondary', id: 'next-sale', onclick: () => location.reload() }, '下一位'));
      show(message, el('p', { class: 'ok', id: 'paid' }, got.replayed ? '已结账（重复提交，只扣一次）' : '结账成功'));
      basket.clear();
      drawBasket();
      code.value = '';
      member.value = '';  // the next customer starts afresh
      show(memberName);
      saleId = requestId('sale');
      await loadCatalogue();
    } catch (error) {
      show(message, errorLine(error));
      // A final refusal (余额不足, 库存不足, ...) is remembered under its request id: the
      // cashier's next try is a new sale. A code refused or a server away: the same sale again.
      if (!RETRYABLE.has(error.reason)) saleId = requestId('sale');
    }
  }
  // 退货: the sale by its receipt's 凭证 number, the quantity of each line to take back (each line
  // of a sale is refunded once). One refund keeps its request id while its content stays the
  // same, so a retry after a lost answer refunds once; a final refusal gets a new one.
  const refundSeq = el('input', { id: 'refund-seq', inputmode: 'numeric', placeholder: '收据上的凭证号' });
  const refundLines = el('tbody', { id: 'refund-lines' });
  const refundMessage = el('div', { id: 'refund-message' });
  let refundId = requestId('refund');
  let refundSale = null;  // { seq, lines: [{sku, quantity, input}] }
  async function findSale() {
    show(refundMessage);
    show(refundLines);
    refundSale = null;
    refundId = requestId('refund');
    try {
      const got = await call('Ledger/GetEntry', { seq: refundSeq.value.trim() }, token);
      const sale = got.entry && got.entry.command && got.entry.command.checkout;
      if (!sale || sale.store !== store) throw Object.assign(new Error('not a sale'), { chinese: '这不是本店的结账凭证' });
      const names = new Map(items.map((item) => [item.sku, `${item.name}（${item.unit}）`]));
      refundSale = { seq: got.entry.seq, lines: (sale.lines || []).map((line) => ({ sku: line.sku,
        quantity: line.quantity, input: el('input', { type: 'number', min: 0, max: line.quantity,
          value: line.quantity, 'data-refund': line.sku, oninput: () => { refundId = requestId('refund'); } }) })) };
      show(refundLines, refundSale.lines.map((line) => el('tr', {}, el('td', {}, names.get(line.sku) || line.sku),
        el('td', { class: 'num' }, `售出 ${line.quantity}`), el('td', {}, line.input))));
    } catch (error) { show(refundMessage, errorLine(error, 'refund-error')); }
  }
  async function refund() {
    if (!refundSale) return;
    const lines = refundSale.lines.map((line) => ({ sku: line.sku, quantity: Number(line.input.value) }))
      .filter((line) => line.quantity > 0);
    try {
      const got = await call('Supermarket/Refund', { requestId: refundId, checkoutSeq: refundSale.seq, lines }, token);
      const back = (got.balancesAfter || []).filter((b) => b.asset === 'POINTS' || b.asset === 'HOURS')
        .filter((b) => b.account !== store).map((b) => `${b.account} ${assetName(b.asset)}余额 ${b.amount}`);
      show(refundMessage, el('p', { class: 'ok', id: 'refunded' },
        `退货成功（凭证 第 ${got.seq} 条）${got.replayed ? '，重复提交只退一次' : ''}`), back.map((line) => el('p', {}, line)));
      refundId = requestId('refund');
      await loadCatalogue();
    } catch (error) {
      show(refundMessage, errorLine(error, 'refund-error'));
      if (!RETRYABLE.has(error.reason)) refundId = requestId('refund');
    }
  }
  // 预留: the basket put aside for the member, its points held (with the member's payment code)
  // for up to a day; when collected the till settles it (CaptureHold), else cancels it (VoidHold)
  // or the engine gives it back when it expires. A hold keeps its request id like a sale.
  let holdId = requestId('hold');
  const holdMessage = el('div', { id: 'hold-message' });
  async function putAside() {
    show(holdMessage);
    try {
      const got = await call('Supermarket/AuthorizeHold', { requestId: holdId, member: member.value.trim(),
        store, payAsset: payAsset.value, timeoutSeconds: 86400, paymentCode: code.value.replace(/\s/g, ''),
        lines: [...basket.values()].map(({ item, quantity }) => ({ sku: item.sku, quantity })) }, token);
      show(holdMessage, el('p', { class: 'ok', id: 'held' }, `已预留：预留单号 ${got.seq}，`
        + `${got.totalPoints} 积分，${localTime(got.holdExpiresUnixUs || '0')} 前取货`));
      holdSeq.value = got.seq;
      basket.clear();
      drawBasket();
      code.value = '';
      holdId = requestId('hold');
      saleId = requestId('sale');
      await loadCatalogue();
    } catch (error) {
      show(holdMessage, errorLine(error, 'hold-error'));
      if (!RETRYABLE.has(error.reason)) holdId = requestId('hold');
    }
  }
  const holdSeq = el('input', { id: 'hold-seq', inputmode: 'numeric', placeholder: '预留单号' });
  const holdShown = el('div', { id: 'hold-shown' });
  const STATES = { HOLD_STATE_OPEN: '待取货', HOLD_STATE_CAPTURED: '已取货结算',
    HOLD_STATE_VOIDED: '已取消', HOLD_STATE_RELEASED: '已过期退回' };
  async function findHold() {
    try {
      const got = await call('Supermarket/GetHold', { holdSeq: holdSeq.value.trim() }, token);
      const open = got.state === 'HOLD_STATE_OPEN';
      // Closing a hold is the same request however often it is sent: one id per hold and action.
      const close = (what, route) => el('button', { class: what === 'capture' ? '' : 'secondary',
        id: `hold-${what}`, onclick: async () => {
          try {
            await call(`Supermarket/${route}`, { requestId: `${what}-${got.seq}`, holdSeq: got.seq, store }, token);
            await findHold();
          } catch (error) { holdShown.append(errorLine(error, 'hold-error')); }
        } }, what === 'capture' ? '取货结算' : '取消预留');
      show(holdShown, el('p', { id: 'hold-state' }, `预留单 ${got.seq}：${got.member}，${got.totalPoints} 积分，`
        + `${STATES[got.state] || got.state}${open ? `，${localTime(got.expiresUnixUs)} 到期` : ''}`),
      el('table', {}, el('tbody', {}, (got.lines || []).map((line) => el('tr', {},
        el('td', {}, line.name || line.sku), el('td', { class: 'num' }, `×${line.quantity}`))))),
      open ? [close('capture', 'CaptureHold'), close('void', 'VoidHold')] : null);
    } catch (error) { show(holdShown, errorLine(error, 'hold-error')); }
  }
  member.addEventListener('change', () => { saleId = requestId('sale'); greet(); });
  payAsset.addEventListener('change', () => { saleId = requestId('sale'); });
  show(main,
    el('p', { class: 'muted no-print' }, `${till.name}（${[storeNamed, store].filter(Boolean).join(' ')}）`,
      el('button', { class: 'secondary', onclick: () => { localStorage.removeItem(STORE); location.reload(); } }, '退出')),
    el('div', { class: 'columns no-print' },
      el('section', {}, el('h2', {}, '会员'),
        el('label', { for: 'member' }, '会员编号'), member, memberName,
        el('label', { for: 'search' }, '查找会员'), search,
        el('button', { class: 'secondary', id: 'look-up', onclick: lookUp }, '查找'), found,
        el('label', { for: 'payment-code' }, '付款码'), code),
      el('section', {}, el('h2', {}, '商品（明码标分）'), el('table', {}, catalogue))),
    el('section', { class: 'no-print' }, el('h2', {}, '购物篮'), el('table', {}, lines), total,
      el('label', { for: 'pay-asset' }, '支付方式'), payAsset,
      el('button', { id: 'pay', onclick: pay }, '结账'),
      el('button', { class: 'secondary', id: 'put-aside', onclick: putAside }, '预留（一天内取货）'),
      message, holdMessage),
    receipt,
    el('section', { class: 'no-print' }, el('h2', {}, '预留单'),
      el('label', { for: 'hold-seq' }, '预留单号'), holdSeq,
      el('button', { class: 'secondary', id: 'find-hold', onclick: findHold }, '查找'), holdShown),
    el('section', { class: 'no-print' }, el('h2', {}, '退货'),
      el('label', { for: 'refund-seq' }, '凭证号'), refundSeq,
      el('button', { class: 'secondary', id: 'find-sale', onclick: findSale }, '查找这笔结账'),
      el('table', {}, refundLines),
      el('button', { id: 'refund', onclick: refund }, '退货'), refundMessage));
  drawBasket();
  try { await loadCatalogue(); } catch (error) { show(message, errorLine(error)); }
}

const till = JSON.parse(localStorage.getItem(STORE) || 'null');
if (till && till.token) counter(till); else signIn();
