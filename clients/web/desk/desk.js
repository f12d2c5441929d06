// The social worker's desk (/desk/): record an afternoon's activity with each participant's
// hours in one step (one SubmitBatch of Earns, a result per row), award by rule with the rule's
// Chinese description, issue a member's activation code, and see the approvals waiting (an
// approver approves or rejects), import the office's CSV file with a result per row, and post,
// assign, confirm and resolve members' requests for help (hours buy services). Signs in
// with the worker's (or an approver's) token. The heading carries the programme's name.
import { call, el, show, localTime, assetName, requestId, chineseMessage, RETRYABLE, errorLine }
  from '../common/lovebank.js';
import { qrSvg } from '../common/qr.js';
import { requestForm, serviceList } from '../common/services.js';
import { programme, heading } from '../common/profile.js';

const main = document.getElementById('main');
const STORE = 'lovebank.desk';

function signIn(message) {
  const token = el('input', { id: 'desk-token', type: 'password', autocomplete: 'off', placeholder: 'lb_…' });
  const form = el('form', {}, el('h2', {}, '社工登录'),
    el('label', { for: 'desk-token' }, '令牌（管理员发放）'), token,
    el('button', { id: 'sign-in', type: 'submit' }, '登录'), message || null);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const who = await call('Admin/WhoAmI', {}, token.value.trim());
      localStorage.setItem(STORE, JSON.stringify({ token: token.value.trim(), role: who.role,
        issuer: (who.accounts || [])[0] || '', name: who.displayName || who.principal }));
      location.reload();
    } catch (error) { signIn(errorLine(error)); }
  });
  show(main, form);
}

// "V00001 2.5" per line (a tab or a comma also separates: a column pasted from a sheet).
export function parseParticipants(text) {
  return text.split(/\r?\n/).map((line) => line.trim()).filter(Boolean).map((line) => {
    const [member, hours] = line.split(/[\s,，\t]+/);
    return { member, hours: hours || '' };
  });
}

function activityForm(desk) {
  const field = (id, label, attributes = {}) => [el('label', { for: id }, label),
    el('input', { id, ...attributes })];
  const today = new Date().toLocaleDateString('sv-SE', { timeZone: 'Asia/Shanghai' });
  const inputs = {
    name: field('activity-name', '活动名称', { placeholder: '例如：重阳节敬老活动' }),
    date: field('activity-date', '日期', { type: 'date', value: today }),
    team: field('activity-team', '服务队', { placeholder: '例如：反诈宣传志愿队' }),
    place: field('activity-place', '地点', { placeholder: '例如：南溪村文化礼堂' }),
    category: field('activity-category', '类别', { placeholder: '例如：助老' }),
  };
  const people = el('textarea', { id: 'participants', rows: 6,
    placeholder: '每行一人：会员编号 时长\nV00001 2.5\nV00002 2' });
  const results = el('tbody', { id: 'activity-results' });
  const button = el('button', { id: 'record-activity' }, '记录服务时长');
  // Each row keeps its request id while its member, hours and activity stay the same: clicking
  // again after correcting one row replays the rows already recorded (each once) and records
  // the corrected one; a row refused for good gets a new id when it is sent again.
  const rowIds = new Map();
  button.addEventListener('click', async () => {
    const rows = parseParticipants(people.value);
    const activity = Object.fromEntries(Object.entries(inputs).map(([key, [, input]]) => [key, input.value.trim()]));
    const keys = rows.map((row) => JSON.stringify([row.member, row.hours, activity]));
    for (const key of keys) if (!rowIds.has(key)) rowIds.set(key, requestId('act'));
    try {
      const got = await call('Ledger/SubmitBatch', { commands: rows.map((row, i) => ({ earn: {
        requestId: rowIds.get(keys[i]), issuer: desk.issuer, member: row.member, asset: 'HOURS',
        amount: row.hours, activity } })) }, desk.token);
      (got.results || []).forEach((result, i) => {
        const reason = result.reason.replace(/^REASON_/, '');
        if (reason !== 'OK' && !RETRYABLE.has(reason)) rowIds.delete(keys[i]);
      });
      show(results, (got.results || []).map((result, i) => el('tr', {},
        el('td', {}, rows[i].member), el('td', { class: 'num' }, rows[i].hours),
        el('td', { class: result.reason === 'REASON_OK' ? 'ok' : 'error' },
          result.reason === 'REASON_OK' ? (result.receipt.pending ? '待审批' : '已记录')
            : chineseMessage({ reason: result.reason.replace(/^REASON_/, '') })))));
    } catch (error) { show(results, el('tr', {}, el('td', {}, errorLine(error)))); }
  });
  return el('section', {}, el('h2', {}, '记录一次活动'), Object.values(inputs),
    el('label', { for: 'participants' }, '参加人员与时长（小时）'), people, button,
    el('table', {}, results));
}

function awardForm(desk, rules) {
  const rule = el('select', { id: 'award-rule' }, rules.filter((r) => r.rule.active).map((r) =>
    el('option', { value: r.rule.code }, `${r.rule.description}（${r.rule.deduction ? '-' : '+'}${r.rule.amount} ${assetName(r.rule.asset)}）`)));
  const member = el('input', { id: 'award-member', placeholder: '会员编号' });
  const reason = el('input', { id: 'award-reason', placeholder: '事由，例如：期中考试进步明显' });
  const message = el('div', { id: 'award-message' });
  let id = requestId('award');
  for (const input of [rule, member, reason]) input.addEventListener('input', () => { id = requestId('award'); });
  const button = el('button', { id: 'award', onclick: async () => {
    try {
      const got = await call('Programme/Award', { requestId: id, rule: rule.value,
        member: member.value.trim(), issuer: desk.issuer, reason: reason.value.trim() }, desk.token);
      const chosen = rules.find((r) => r.rule.code === rule.value);
      show(message, el('p', { class: 'ok' }, got.pending ? '已提交，等待审批'
        : `已${chosen && chosen.rule.deduction ? '扣减' : '发放'} ${got.awardAmount} ${assetName(chosen ? chosen.rule.asset : '')}`));
      id = requestId('award');
    } catch (error) {
      show(message, errorLine(error));
      if (error.reason && !RETRYABLE.has(error.reason)) id = requestId('award');  // final
    }
  } }, '按规则奖励');
  return el('section', {}, el('h2', {}, '按规则奖励'), el('label', { for: 'award-rule' }, '规则'), rule,
    el('label', { for: 'award-member' }, '会员'), member, el('label', { for: 'award-reason' }, '事由'), reason,
    button, message);
}

function activationForm(desk) {
  const member = el('input', { id: 'code-member', placeholder: '会员编号' });
  const out = el('div', { id: 'code-out' });
  const button = el('button', { id: 'issue-code', onclick: async () => {
    try {
      const got = await call('Admin/IssueActivationCode', { requestId: requestId('code'),
        member: member.value.trim() }, desk.token);
      // The QR is a link: the member's phone camera opens /app/ with the code typed in.
      show(out, el('div', { id: 'activation-qr' }, qrSvg(`${location.origin}/app/#code=${got.code}`, 260)),
        el('p', { class: 'code', id: 'activation-code' }, got.code),
        el('p', { class: 'muted' }, `一次有效，${localTime(got.expiresUnixUs)} 前用会员手机扫码，或在 /app/ 页面输入`));
    } catch (error) { show(out, errorLine(error)); }
  } }, '发放激活码');
  return el('section', {}, el('h2', {}, '会员手机激活码'), el('label', { for: 'code-member' }, '会员'),
    member, button, out);
}

// The file's bytes as base64: a proto `bytes` field in JSON.
function base64(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

const IMPORT_BYTES_MAX = 2 << 20;
const KIND_NAMES = { members: '会员名单', activities: '服务活动', awards: '学生奖励',
  catalogue: '超市商品目录', stock: '捐赠物资入库' };

// One row's result in Chinese.
export function importOutcome(row) {
  switch (row.outcome) {
    case 'OK': return '已导入';
    case 'PENDING_APPROVAL': return '已提交，等待审批';
    case 'ALREADY_APPLIED': return '以前已导入，未重复记录';
    case 'DUPLICATE_ROW': return `与第 ${row.sameAs} 行相同，未重复记录`;
    case 'NAME_MISMATCH': return '姓名与会员编号不符，未导入（请核对编号或姓名）';
    case 'TEAM_MISMATCH': return '服务队名称与服务队编号不符，未导入（请核对编号或名称）';
    default: return chineseMessage({ reason: row.outcome });
  }
}

// The month a file's name gives, as `lovebank import` takes it (import::MonthInFileName): the first
// 7 characters of the base name that are a month YYYY-MM (year from 1900, month 01-12) with no
// digit just before or after; "" when it names none. "学生奖励-2026-11.csv" -> "2026-11".
export function monthInFileName(path) {
  const name = String(path).slice(String(path).lastIndexOf('/') + 1);
  const digit = (c) => c >= '0' && c <= '9';
  for (let at = 0; at + 7 <= name.length; at += 1) {
    const candidate = name.slice(at, at + 7);
    const bounded = (at === 0 || !digit(name[at - 1])) && (at + 7 === name.length || !digit(name[at + 7]));
    const parts = /^(\d{4})-(\d{2})$/.exec(candidate);
    if (bounded && parts && Number(parts[1]) >= 1900 && Number(parts[2]) >= 1 && Number(parts[2]) <= 12) {
      return candidate;
    }
  }
  return '';
}

// What the awards in a file are for, in Chinese: the month its name gives, else the import's own.
function awardsMonthText(month) {
  return month
    ? `学生奖励表按文件名计入 ${month.replace(/^(\d{4})-0?(\d+)$/, '$1年$2月')}（表中有 month 列的行按该列）`
    : '文件名中没有月份（如 学生奖励-2026-11.csv）：学生奖励计入导入当月（表中有 month 列的行按该列）';
}

// A CSV file as the office keeps it (members, a month's activities, awards; UTF-8 or what Excel
// saves, GBK): lovebankd imports it (Programme.Import) with the same request ids as `lovebank
// import`, so a file imported twice, here or there, records nothing twice.
function importForm(desk) {
  const input = el('input', { id: 'import-file', type: 'file', accept: '.csv,text/csv' });
  // What a file's rows may not say themselves: the store (catalogue, stock), the donor issuer
  // (stock; others default to the worker's own account) and, when the guess is wrong, the text's
  // encoding.
  const store = el('input', { id: 'import-store', placeholder: '例如：store:main（商品目录、入库表用）' });
  const issuer = el('input', { id: 'import-issuer', placeholder: '例如：issuer:goods（入库表的捐赠方；其他表默认本人账户）' });
  const encoding = el('select', { id: 'import-encoding' },
    el('option', { value: 'auto' }, '自动识别（UTF-8 或 GBK）'), el('option', { value: 'gbk' }, 'GBK（Excel 另存的 CSV）'),
    el('option', { value: 'utf-8' }, 'UTF-8'));
  // Awards are for the month in the file's name (issue #28), as `lovebank import` takes it: shown
  // when the file is chosen, sent as ImportRequest.month (lovebankd uses it for awards only).
  const monthLine = el('p', { class: 'muted', id: 'import-month' });
  input.addEventListener('change', () => {
    const file = input.files[0];
    const month = file ? monthInFileName(file.name) : '';
    show(monthLine, month ? awardsMonthText(month) : null);
  });
  const summary = el('div', { id: 'import-summary' });
  const rows = el('tbody', { id: 'import-results' });
  const button = el('button', { id: 'import', onclick: async () => {
    const file = input.files[0];
    if (!file) { show(summary, el('p', { class: 'error' }, '请先选择文件')); return; }
    if (file.size > IMPORT_BYTES_MAX) {  // lovebankd's limit (kImportBytesMax): not sent at all
      show(summary, el('p', { class: 'error' }, chineseMessage({ reason: 'IMPORT_TOO_LARGE' })));
      return;
    }
    show(summary, el('p', { class: 'muted' }, `正在导入 ${file.name}…`));
    show(rows);
    button.disabled = true;  // one import at a time: a second click would only confuse
    const month = monthInFileName(file.name);
    try {
      const got = await call('Programme/Import', { file: base64(new Uint8Array(await file.arrayBuffer())),
        store: store.value.trim(), issuer: issuer.value.trim(), encoding: encoding.value,
        ...(month ? { month } : {}) }, desk.token);
      const count = (name) => Number(got[name] || 0);
      show(summary, el('p', { class: count('refused') ? 'error' : 'ok' },
        `${KIND_NAMES[got.kind] || got.kind}（${got.encoding}）：导入 ${count('applied')} 行，` +
        `待审批 ${count('pendingApproval')} 行，以前已导入 ${count('alreadyApplied')} 行，` +
        `被拒 ${count('refused')} 行，重复 ${count('duplicateRows')} 行`));
      if (got.kind === 'awards') summary.append(el('p', { id: 'import-awards-month' }, awardsMonthText(month)));
      if (got.rejectedRows) {
        // The refused rows as a sheet to correct and import again (new request ids: docs/cli.md).
        const link = el('a', { id: 'import-rejected', download: file.name.replace(/(\.csv)?$/i, '-rejected.csv'),
          href: URL.createObjectURL(new Blob([got.rejectedRows], { type: 'text/csv;charset=utf-8' })) },
        '下载被拒的行（改正后再导入这个文件）');
        summary.append(el('p', {}, link));
      }
      show(rows, (got.rows || []).map((row) => {
        const good = ['OK', 'PENDING_APPROVAL', 'ALREADY_APPLIED', 'DUPLICATE_ROW'].includes(row.outcome);
        return el('tr', { 'data-line': row.line },
          el('td', { class: 'num' }, `第 ${row.line} 行`),
          el('td', { class: good ? 'ok' : 'error', 'data-outcome': row.outcome }, importOutcome(row),
            good || !row.message ? null : el('div', { class: 'muted' }, row.message)));
      }));
    } catch (error) { show(summary, errorLine(error)); } finally { button.disabled = false; }
  } }, '导入');
  return el('section', {}, el('h2', {}, '导入表格（CSV）'),
    el('p', { class: 'muted' }, '会员名单、服务活动、学生奖励、超市商品目录或捐赠入库表，首行为列名（见 docs/cli.md）；Excel 另存的 CSV 即可。学生奖励按文件名中的月份计入（如 学生奖励-2026-11.csv 计入 2026年11月）。同一文件再导入不会重复记录；被拒的行可下载，改正后再导入。'),
    el('label', { for: 'import-file' }, '文件'), input, monthLine,
    el('label', { for: 'import-store' }, '超市账户'), store, el('label', { for: 'import-issuer' }, '发放/捐赠账户'), issuer,
    el('label', { for: 'import-encoding' }, '文字编码'), encoding, button, summary, el('table', {}, rows));
}

// Minor units as a decimal of `scale` places: "300000" -> "3000.00".
function decimal(minor, scale = 2) {
  const negative = String(minor).startsWith('-');
  const digits = String(minor).replace('-', '').padStart(scale + 1, '0');
  return `${negative ? '-' : ''}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

async function pendingList(desk, rules) {
  const described = new Map(rules.map((r) => [r.rule.code, r.rule.description]));
  const rows = el('tbody', { id: 'pending' });
  const section = el('section', {}, el('h2', {}, '待审批'), el('table', {}, rows));
  async function load() {
    const got = await call('Programme/ListPending', {}, desk.token);
    show(rows, (got.pending || []).map((p) => el('tr', { 'data-seq': p.seq },
      el('td', {}, `${p.member} ${p.rule ? described.get(p.rule) || p.rule : '服务时长'}`,
        el('div', { class: 'muted' }, `${p.maker} · ${localTime(p.timeUnixUs)}`)),
      el('td', { class: 'num', 'data-amount': p.seq }, `${assetName(p.asset)} ${decimal(p.amountMinor)}`),
      desk.role === 'ROLE_APPROVER' || desk.role === 'ROLE_ADMIN' ? el('td', {},
        el('button', { 'data-approve': p.seq, onclick: () => decide('Approve', p.seq) }, '批准'),
        el('button', { class: 'secondary', onclick: () => decide('Reject', p.seq) }, '驳回')) : el('td', {}))));
    if (!(got.pending || []).length) show(rows, el('tr', {}, el('td', {}, '没有待审批的记录')));
  }
  async function decide(what, seq) {
    try {
      const request = { requestId: `${what.toLowerCase()}-${seq}`, seq };
      if (what === 'Reject') {
        const why = window.prompt('驳回理由（会记入账本）', '');
        if (!why || !why.trim()) return;
        request.reason = why.trim();
      }
      await call(`Programme/${what}`, request, desk.token);
      await load();
    } catch (error) { section.append(errorLine(error)); }
  }
  try { await load(); } catch (error) { section.append(errorLine(error)); }
  return section;
}

async function desk(state) {
  programme(state.token).then((profile) => { if (profile.name) heading(profile.name, '社工工作台'); });
  const header = el('p', { class: 'muted' }, `${state.name}${state.issuer ? `（${state.issuer}）` : ''}`,
    el('button', { class: 'secondary', onclick: () => { localStorage.removeItem(STORE); location.reload(); } }, '退出'));
  const parts = [header];
  let rules = [];
  try {
    rules = (await call('Programme/ListAwardRules', {}, state.token)).rules || [];
  } catch (error) { parts.push(errorLine(error)); }
  if (state.role === 'ROLE_ISSUER' || state.role === 'ROLE_ADMIN') {
    parts.push(activityForm(state));
    if (rules.length) parts.push(awardForm(state, rules));
    parts.push(activationForm(state));
    parts.push(importForm(state));
    // Hours buy services: post for members without a phone, assign, confirm, resolve disputes.
    const services = serviceList({ token: state.token, viewer: { worker: true }, id: 'desk-services',
      title: '求助与服务', filter: {}, emptyText: '还没有求助' });
    parts.push(requestForm({ token: state.token, member: null, onPosted: () => services.refresh() }), services);
  }
  parts.push(await pendingList(state, rules));
  show(main, parts);
}

const state = JSON.parse(localStorage.getItem(STORE) || 'null');
if (state && state.token) desk(state); else signIn();
