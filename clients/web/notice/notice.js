// The monthly public notice (/notice/, 公示): the figures of a programme month from lovebankd's
// own audit of its journal (Audit.GetNotice) — hours served per team, points per award rule,
// the love supermarket's month, what members hold — with the ledger digest anyone can check
// with `lovebank audit --expect-digest`. For the committee's screen (it refreshes itself) and
// for print on A4. Public, like the notice board: no token, nothing kept in the browser.
import { call, el, show, localTime, errorLine } from '../common/lovebank.js';

const main = document.getElementById('main');
const REFRESH_MS = 5 * 60 * 1000;

// The month before this one in China's time: a month's notice is posted once it has ended.
export function lastMonth(now = new Date()) {
  const [year, month] = now.toLocaleDateString('sv-SE', { timeZone: 'Asia/Shanghai' }).split('-').map(Number);
  return month === 1 ? `${year - 1}-12` : `${year}-${String(month - 1).padStart(2, '0')}`;
}

const num = (text) => Number(text || 0);

// A row's bar: its share of the column's largest value (set through the CSSOM: the page's
// content security policy allows no inline style).
function bar(value, top) {
  const span = el('span', { class: 'bar' });
  span.style.width = `${top > 0 ? Math.round((100 * value) / top) : 0}%`;
  return el('td', { class: 'bar-cell' }, span);
}

function table(id, head, rows, empty) {
  return el('table', { id }, el('thead', {}, el('tr', {}, head.map(([text, cls]) => el('th', cls ? { class: cls } : {}, text)))),
    el('tbody', {}, rows.length ? rows : el('tr', {}, el('td', { colspan: head.length }, empty))));
}

function render(notice, month, onMonth) {
  const profile = notice.profile || {};
  const programme = profile.name || '爱心银行';
  const [year, m] = month.split('-');
  const heading = `${programme} ${year}年${Number(m)}月 公示`;
  document.title = heading;
  document.getElementById('title').textContent = `${programme} · 月度公示`;
  const picker = el('input', { id: 'notice-month', type: 'month', value: month });
  picker.addEventListener('change', () => { if (picker.value) onMonth(picker.value); });
  const teams = notice.teams || [];
  const topHours = Math.max(0, ...teams.map((t) => num(t.hours)));
  const rules = notice.rules || [];
  const topPoints = Math.max(0, ...rules.map((r) => num(r.awarded)));
  const stores = notice.stores || [];
  const services = notice.services || [];
  return el('article', { class: 'notice' },
    el('div', { class: 'controls no-print' }, el('label', { for: 'notice-month' }, '月份'), picker,
      el('button', { class: 'secondary', onclick: () => window.print() }, '打印')),
    el('h1', { id: 'notice-heading' }, heading),
    profile.town || profile.office ? el('p', { class: 'issuer' }, [profile.town, profile.office].filter(Boolean).join(' ')) : null,
    el('section', {}, el('h2', {}, '志愿服务时长（按服务日期）'),
      table('notice-teams', [['服务队'], ['人次', 'num'], ['时长（小时）', 'num'], ['', 'bar-cell']],
        teams.map((t) => el('tr', {}, el('td', {}, t.name || t.team || '（未注明服务队）'),
          el('td', { class: 'num' }, t.earnings || '0'), el('td', { class: 'num' }, t.hours), bar(num(t.hours), topHours)))
          .concat(teams.length ? [el('tr', { class: 'total' }, el('th', {}, '合计'), el('th', {}),
            el('th', { class: 'num', id: 'notice-hours-total' }, notice.hoursTotal || '0.00'), el('th', { class: 'bar-cell' }))] : []),
        '本月没有记录服务时长')),
    el('section', {}, el('h2', {}, '学生积分（按奖励规则）'),
      table('notice-rules', [['规则'], ['人次', 'num'], ['奖励', 'num'], ['扣减', 'num'], ['', 'bar-cell']],
        rules.map((r) => el('tr', {}, el('td', {}, r.name || r.rule || '手工发放'),
          el('td', { class: 'num' }, String(num(r.awards) + num(r.deductions))),
          el('td', { class: 'num' }, r.awarded || ''), el('td', { class: 'num' }, r.deducted || ''),
          bar(num(r.awarded), topPoints))),
        '本月没有发放或扣减积分'),
      num(notice.reversedPoints) ? el('p', {}, `本月冲正 ${notice.reversedPoints} 分`) : null),
    el('section', {}, el('h2', {}, '时间银行互助服务（按服务日期）'),
      table('notice-services', [['类别'], ['地点'], ['次数', 'num'], ['时长（小时）', 'num']],
        services.map((s) => el('tr', {}, el('td', {}, s.category), el('td', {}, s.place || '（未注明）'),
          el('td', { class: 'num' }, s.services || '0'), el('td', { class: 'num' }, s.hours))),
        '本月没有确认的互助服务')),
    el('section', {}, el('h2', {}, '爱心超市兑换'),
      table('notice-stores', [['超市'], ['购物篮', 'num'], ['积分', 'num'], ['时长支付', 'num'], ['退货', 'num'], ['其他兑换', 'num']],
        stores.map((s) => el('tr', {}, el('td', {}, s.name || s.store), el('td', { class: 'num' }, s.baskets || '0'),
          el('td', { class: 'num' }, s.points), el('td', { class: 'num' }, s.hours),
          el('td', { class: 'num' }, s.refunded), el('td', { class: 'num' }, s.redeemed))),
        '本月没有兑换')),
    el('section', {}, el('h2', {}, '月末会员持有'),
      el('table', { id: 'notice-outstanding' },
        el('tr', {}, el('th', {}, '志愿服务时长（小时）'), el('td', { class: 'num' }, notice.outstandingHours || '0.00')),
        el('tr', {}, el('th', {}, '爱心积分（分）'), el('td', { class: 'num' }, notice.outstandingPoints || '0.00')))),
    el('div', { class: 'verify', id: 'notice-digest' },
      `账本摘要 ${notice.headSeq}:${notice.headHash}`, el('br'),
      `任何人可核验：lovebank audit --expect-digest ${notice.headSeq}:${notice.headHash}`, el('br'),
      `由服务器核查账本第 1 至 ${notice.headSeq} 条流水得出，${localTime(notice.computedAtUnixUs || '0')}`),
    witnesses(notice),
    el('div', { class: 'seal' }, el('p', {}, '公示单位（盖章）'), el('p', {}, '公示日期'), el('p', {}, '监督电话')));
}

// The head the figures rest on, signed with the programme's key, and the latest co-signature of
// each witness (issue #27): keys in full, as `lovebank key` prints them, for readers to compare.
function witnesses(notice) {
  const head = notice.signedHead;
  const cosignatures = notice.cosignatures || [];
  return el('section', { id: 'notice-witnesses' }, el('h2', {}, '签名与见证'),
    head ? el('p', {}, `本账本的密钥签署：前 ${head.treeSize} 条记录的默克尔树根为 `,
      el('code', {}, head.root), `（${localTime(head.timeUnixUs || '0')}）。密钥 `, el('code', {}, head.publicKey)) : null,
    table('notice-cosignatures', [['见证人'], ['见证人密钥'], ['副签记录数', 'num'], ['记录', 'num']],
      cosignatures.map((c) => el('tr', {}, el('td', {}, c.auditor), el('td', {}, el('code', {}, c.witnessKey)),
        el('td', { class: 'num' }, c.treeSize), el('td', { class: 'num' }, c.seq))),
      '尚无见证人副签'));
}

// The month a link names (/notice/#month=2026-11: a screen's bookmark), else last month.
function linkedMonth() {
  const linked = (location.hash.match(/month=([^&]*)/) || [])[1] || '';
  try { return decodeURIComponent(linked); } catch { return linked; }  // lovebankd judges it
}

function notice() {
  let month = linkedMonth() || lastMonth();
  let timer = null;
  let latest = 0;  // the newest load: an older answer arriving late is dropped
  let shown = null;  // the notice on screen, kept through a passing refusal
  async function load() {
    const mine = ++latest;
    clearTimeout(timer);
    timer = null;
    try {
      const got = await call('Audit/GetNotice', { month }, '');
      if (mine !== latest) return;
      shown = render(got, month, (chosen) => { month = chosen; location.hash = `month=${chosen}`; load(); });
      show(main, shown);
    } catch (error) {
      if (mine !== latest) return;
      // A screen on the wall keeps the notice it has through a busy moment; a wrong month (or
      // the first load) shows the refusal.
      const keep = shown && error.reason !== 'MONTH_INVALID' && error.reason !== 'AUDIT_UNCLEAN';
      show(main, errorLine(error, 'notice-error'), keep ? shown : null);
    }
    // A screen on the wall keeps itself current; a hidden tab waits until it is shown again.
    clearTimeout(timer);
    timer = setTimeout(() => { if (document.visibilityState === 'visible') load(); }, REFRESH_MS);
  }
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') load(); });
  window.addEventListener('hashchange', () => {
    const linked = linkedMonth();
    if (linked && linked !== month) { month = linked; load(); }
  });
  load();
}

notice();
