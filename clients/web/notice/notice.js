// The monthly public notice (/notice/, 公示): the figures of a programme month from lovebankd's
// own audit of its journal (Audit.GetNotice), in the sections `lovebank report` prints — hours
// served per team, points per award rule by the award's month, the list of recipients (names as
// lovebankd masks them), the love supermarket's month, what was posted for earlier months, what
// members hold at the month's end — with the ledger digest anyone can check
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

// The school term of a month, as the award rules' school years count (from 1 September):
// schoolTerm(2026, 11) is "2026—2027学年第一学期" (September to January), (2027, 3) the second.
export function schoolTerm(year, month) {
  const first = month >= 9 ? year : year - 1;
  return `${first}—${first + 1}学年${month >= 9 || month === 1 ? '第一学期' : '第二学期'}`;
}

function table(id, head, rows, empty) {
  return el('table', { id }, el('thead', {}, el('tr', {}, head.map(([text, cls]) => el('th', cls ? { class: cls } : {}, text)))),
    el('tbody', {}, rows.length ? rows : el('tr', {}, el('td', { colspan: head.length }, empty))));
}

// The profile's recipient_names (issue #28) as lovebankd's JSON gives it: the enum's name, or its
// number from a client that prints enums as numbers; absent = MASKED, the default.
function recipientNames(profile) {
  const value = profile.recipientNames ?? profile.recipient_names;
  if (value === 'RECIPIENT_NAMES_FULL' || value === 1) return 'FULL';
  if (value === 'RECIPIENT_NAMES_HIDDEN' || value === 2) return 'HIDDEN';
  return 'MASKED';
}

// 三、获奖学生名单: the members awarded points for the month, in entry order, as lovebankd sends
// them (names already masked unless the profile says FULL; no list at all when HIDDEN).
function recipientsSection(notice, names) {
  if (names === 'HIDDEN') return null;
  const recipients = notice.recipients || [];
  return el('section', {}, el('h2', {}, '三、获奖学生名单'),
    table('notice-recipients', [['序号', 'num'], ['姓名'], ['奖励项目'], ['积分', 'num']]
      .concat(names === 'FULL' ? [['事由']] : []),
      recipients.map((r, i) => el('tr', r.reversed ? { class: 'reversed' } : {},
        el('td', { class: 'num' }, String(i + 1)),
        el('td', {}, r.name || r.member || '—', r.member && r.name ? el('span', { class: 'muted' }, ` ${r.member}`) : null),
        el('td', {}, r.ruleName || r.rule_name || r.rule || '手工发放'),
        el('td', { class: 'num' }, `${r.points || ''}${r.reversed ? '（已撤销）' : ''}`),
        names === 'FULL' ? el('td', {}, r.reason || '') : null)),
      '本月无奖励。'),
    names !== 'FULL' && recipients.length
      ? el('p', { class: 'note', id: 'notice-recipients-note' }, '为保护学生隐私，姓名部分隐去，不列事由；扣减不列姓名。') : null);
}

// 六、本月补录以前月份: what was posted in this month for earlier months (counted in those).
function earlierLine(notice) {
  const entries = num(notice.earlierEntries ?? notice.earlier_entries);
  return el('p', { id: 'notice-earlier' }, entries
    ? `本月共补录以前月份记录 ${entries} 条：志愿时长 ${notice.earlierHours || '0.00'} 小时，` +
      `积分 ${notice.earlierPoints || '0.00'} 分（已计入所属月份，不计入本月以上各项）。`
    : '本月无补录。');
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
  // Each team's service category from the profile's teams (teams.csv), by the name activities record.
  // Names compared without their white space, as the import compares them.
  const squeezed = (name) => String(name || '').replace(/[ \t\u3000\u00a0]/g, '');
  const categories = new Map((profile.teams || []).map((t) => [squeezed(t.name), t.category || '']));
  const topHours = Math.max(0, ...teams.map((t) => num(t.hours)));
  const earnings = teams.reduce((sum, t) => sum + num(t.earnings), 0);
  const rules = notice.rules || [];
  const topPoints = Math.max(0, ...rules.map((r) => num(r.awarded)));
  const stores = notice.stores || [];
  const services = notice.services || [];
  return el('article', { class: 'notice' },
    el('div', { class: 'controls no-print' }, el('label', { for: 'notice-month' }, '月份'), picker,
      el('button', { class: 'secondary', onclick: () => window.print() }, '打印')),
    el('h1', { id: 'notice-heading' }, heading),
    profile.town || profile.office ? el('p', { class: 'issuer' }, [profile.town, profile.office].filter(Boolean).join(' ')) : null,
    el('p', { class: 'lead', id: 'notice-lead' },
      `现将本项目${year}年${Number(m)}月志愿服务时长、学生奖励积分和爱心超市兑换情况公示如下。` +
      '时长按服务日期、奖励按所属月份、兑换按兑换日期计入本月；' +
      `数据由服务器重放账本全部记录（截至第 ${notice.headSeq} 条）核查计算，核查结果：通过。`),
    el('section', {}, el('h2', {}, '一、志愿服务时长（按服务日期）'),
      table('notice-teams', [['服务队'], ['服务类别'], ['人次', 'num'], ['时长（小时）', 'num'], ['', 'bar-cell']],
        teams.map((t) => el('tr', {}, el('td', {}, t.name || t.team || '未注明服务队'),
          el('td', {}, categories.get(squeezed(t.team)) || ''),
          el('td', { class: 'num' }, t.earnings || '0'), el('td', { class: 'num' }, t.hours), bar(num(t.hours), topHours)))
          .concat(teams.length ? [el('tr', { class: 'total' }, el('th', {}, '合计'), el('th', {}), el('th', { class: 'num' }, String(earnings)),
            el('th', { class: 'num', id: 'notice-hours-total' }, notice.hoursTotal || '0.00'), el('th', { class: 'bar-cell' }))] : []),
        '本月没有记录服务时长')),
    el('section', {}, el('h2', { id: 'notice-awards-heading' }, `二、学生奖励积分（按奖励所属月份，${schoolTerm(Number(year), Number(m))}）`),
      table('notice-rules', [['奖励项目'], ['人次', 'num'], ['奖励积分', 'num'], ['扣减积分', 'num'], ['', 'bar-cell']],
        rules.map((r) => el('tr', {}, el('td', {}, r.name || r.rule || '手工发放或扣减'),
          el('td', { class: 'num' }, String(num(r.awards) + num(r.deductions))),
          el('td', { class: 'num' }, r.awarded || ''), el('td', { class: 'num' }, r.deducted || ''),
          bar(num(r.awarded), topPoints))),
        '本月没有发放或扣减积分'),
      el('p', { id: 'notice-reversed' }, `本月冲正积分：${notice.reversedPoints || '0.00'} 分`)),
    recipientsSection(notice, recipientNames(profile)),
    el('section', {}, el('h2', {}, '四、时间银行互助服务（按服务日期）'),
      table('notice-services', [['类别'], ['地点'], ['次数', 'num'], ['时长（小时）', 'num']],
        services.map((s) => el('tr', {}, el('td', {}, s.category), el('td', {}, s.place || '（未注明）'),
          el('td', { class: 'num' }, s.services || '0'), el('td', { class: 'num' }, s.hours))),
        '本月没有确认的互助服务')),
    el('section', {}, el('h2', {}, '五、爱心超市兑换（按兑换日期）'),
      table('notice-stores', [['超市'], ['购物篮', 'num'], ['积分', 'num'], ['时长支付', 'num'], ['退货', 'num'], ['其他兑换', 'num']],
        stores.map((s) => el('tr', {}, el('td', {}, s.name || s.store), el('td', { class: 'num' }, s.baskets || '0'),
          el('td', { class: 'num' }, s.points), el('td', { class: 'num' }, s.hours),
          el('td', { class: 'num' }, s.refunded), el('td', { class: 'num' }, s.redeemed))),
        '本月无兑换。')),
    el('section', {}, el('h2', {}, '六、本月补录以前月份'), earlierLine(notice)),
    el('section', {}, el('h2', {}, '七、月末爱心账户结余'),
      el('table', { id: 'notice-outstanding' },
        el('tr', {}, el('th', {}, '志愿时长（小时）'), el('td', { class: 'num' }, notice.outstandingHours || '0.00')),
        el('tr', {}, el('th', {}, '积分（1 分兑 1 元商品）'), el('td', { class: 'num' }, notice.outstandingPoints || '0.00'))),
      el('p', { class: 'note' }, '截至月末，各项按所属月份计入（次月补录本月的记录也计入本月）。')),
    el('div', { class: 'verify', id: 'notice-digest' },
      `账本摘要 ${notice.headSeq}:${notice.headHash}`, el('br'),
      `任何人可核验：lovebank audit --expect-digest ${notice.headSeq}:${notice.headHash}`, el('br'),
      `由服务器核查账本第 1 至 ${notice.headSeq} 条流水得出，${localTime(notice.computedAtUnixUs || '0')}`),
    witnesses(notice),
    seal(profile.office || programme));
}

// Where the office stamps and signs the printed notice, with the objection period.
function seal(office) {
  return el('div', { class: 'seal', id: 'notice-seal' },
    el('div', { class: 'seal-lines' },
      el('p', {}, `公示单位（盖章）：${office}`), el('p', {}, '负责人（签字）：'),
      el('p', {}, '公示日期：\u2003\u2003年\u2003\u2003月\u2003\u2003日'), el('p', {}, '监督电话：'),
      el('p', { class: 'note' }, '公示期七日。如有异议，请在公示期内向公示单位反映。')),
    el('div', { class: 'stamp-area' }, el('span', { class: 'stamp' }, '（公章）')));
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
