// The public verification page (/verify/, issue #27): anyone — a school, an employer, another
// town's love bank — checks a proof bundle (`lovebank prove`) or a volunteer certificate (志愿服务证明)
// with nothing but the programme's published public key. Everything is checked here, in this
// browser (proof.js, WebCrypto): the file is sent nowhere, the server is not asked, no token.
// /verify/#key=HEX opens it with the key filled in — a key anyone can put in a link, so the page
// then says so beside the fingerprint and in the result: compare it with the published one.
// A certificate's QR code links here as /verify/#q=SUMMARY&k=HEX (or is SUMMARY alone, pasted): the
// page checks the summary at once against the key in the field.
//
// What a pass means, and no more: for a certificate, that the ledger's key signed exactly the data
// shown here (the page around the data may have been edited: the reader compares it with what is
// shown here, never the other way round) and that each listed entry, by its hash, is in the signed
// ledger; for a bundle, that each entry with its hash is in the signed ledger and its record
// matches that hash (the record's content is not shown here: `lovebank verify-proof` prints it);
// for a QR summary, that the key signed its figures (the activities' proofs are in the file).
import { el, show, localTime } from '../common/lovebank.js';
import { parseKey, fingerprint, cryptoProblem, verifyBundle, verifyCertificate, verifySummary,
  readInput, linkFields, CERTIFICATE_BYTES_MAX } from './proof.js';

const main = document.getElementById('main');
const ENTRY_LINES_MAX = 50;  // a long bundle lists its first entries, then how many more

const LINKED_KEY_WARNING = '此公钥来自链接：请与项目公开发布的公钥指纹（公示栏、公众号等）逐字核对，不一致则不可信';

const line = (ok, text, id = null) => el('li', { class: ok ? 'ok' : 'bad', ...(id ? { id } : {}) },
  `${ok ? '✔' : '✘'} ${text}`);

// A verified certificate's content, as its data says (and the signature covers): what the
// reader compares with the page or paper in front of them. Shown from the verified data only,
// never from the page's visible text (which anyone can edit without touching the data).
function certificateContent(data) {
  const rows = data.activities.map((a) => el('tr', {}, el('td', {}, a.date), el('td', {}, a.name),
    el('td', {}, a.team), el('td', { class: 'num' }, a.hours), el('td', { class: 'num' }, `#${a.seq}`)));
  const period = data.from || data.to ? `${data.from || '…'} 至 ${data.to || '…'}` : '全部';
  return el('section', { id: 'verify-certificate' }, el('h2', {}, '证明内容（已核验，由账本签发）'),
    el('table', { class: 'facts' },
      el('tr', {}, el('th', {}, '姓名'), el('td', { id: 'verify-name' }, data.name)),
      el('tr', {}, el('th', {}, '账号'), el('td', {}, data.account)),
      el('tr', {}, el('th', {}, '出具单位'), el('td', {}, data.programme)),
      el('tr', {}, el('th', {}, '服务期间'), el('td', {}, period)),
      el('tr', {}, el('th', {}, '所列活动合计'), el('td', { id: 'verify-total' }, `${data.total_hours} 小时`)),
      el('tr', {}, el('th', {}, '累计服务时长'), el('td', {}, `${data.cumulative_hours} 小时（截至第 ${data.as_of_seq} 条流水）`)),
      el('tr', {}, el('th', {}, '星级'), el('td', {}, `${data.star_level} 星`))),
    el('div', { class: 'scroll' }, el('table', { id: 'verify-activities' },
      el('thead', {}, el('tr', {}, el('th', {}, '日期'), el('th', {}, '活动'), el('th', {}, '服务队'),
        el('th', { class: 'num' }, '时长'), el('th', { class: 'num' }, '流水'))),
      el('tbody', {}, rows.length ? rows : el('tr', {}, el('td', { colspan: 5 }, '本证明没有列出活动'))))));
}

// The fingerprint's warning when the key came from the link, not from the person.
const linkedKeyWarning = (id) => el('div', { class: 'warning', id, role: 'note' }, `⚠ ${LINKED_KEY_WARNING}`);

// A check's result for people: what is proven (✔), what is not (✘), and what this page does not
// check. `linked`: the key was filled in from the link.
function render(output, kind, data, checked, linked) {
  const { problems, proven } = checked;
  const ok = problems.length === 0;
  const certificate = kind === 'certificate';
  const details = el('ul', { id: 'verify-details' });
  if (ok && certificate) {
    details.append(line(true, `证明签名有效：公钥指纹 ${proven.fingerprint} 的账本签发了这份证明的全部内容，` +
      '即上面显示的每一项（姓名、日期、活动、服务队、时长、累计服务时长、星级），签发后一字未改'));
  }
  if (proven && proven.fingerprint) {
    details.append(line(true, `账本签名有效：所附的账本状态（共 ${proven.treeSize} 条流水，` +
      `${localTime(proven.timeUnixUs)} 北京时间）由公钥指纹 ${proven.fingerprint} 的账本签发，未被改动`));
  }
  for (const p of problems) details.append(line(false, p.text));
  const notes = [];
  if (ok && kind === 'bundle') {
    const signedAt = localTime(proven.timeUnixUs);
    for (const entry of proven.entries.slice(0, ENTRY_LINES_MAX)) {
      details.append(line(true, `第 ${entry.seq} 条流水在已签名的账本（共 ${proven.treeSize} 条，` +
        `${signedAt} 签名）中：哈希 ${entry.hash.slice(0, 16)}…，所附内容与此哈希相符`));
    }
    if (proven.entries.length > ENTRY_LINES_MAX) {
      details.append(line(true, `另有 ${proven.entries.length - ENTRY_LINES_MAX} 条流水同样在账本中`));
    }
    notes.push('本页不显示、也不解读流水的内容（日期、金额、事由）：别人告诉您的内容，本页没有核对。' +
      '要看这条流水的内容，请用命令 lovebank verify-proof 文件 --key 公钥，它会打印出核验过的内容。');
  }
  if (ok && certificate) {
    details.append(line(true, `所列 ${data.activities.length} 次活动的流水（按哈希）都在已签名的账本` +
      `（共 ${proven.treeSize} 条）中，证明所附的正是这些流水`));
    details.append(line(true, `所列活动的时长合计 ${data.total_hours} 小时，与证明一致`));
    notes.push('证明不附流水记录（以免泄露电话、备注等个人信息）：姓名、日期、活动、服务队、时长、累计服务时长和星级，' +
      '由账本的签名担保。要把每一项与账本本身逐项核对，请用命令：lovebank verify-certificate 文件' +
      '（连接项目服务器、不带 --key，由本人或项目工作人员运行）');
  }
  const result = el('p', { id: 'verify-result', class: ok ? 'ok' : 'bad', role: ok ? 'status' : 'alert' },
    !ok ? `✘ 核验未通过：不能确认这份${certificate ? '志愿服务证明' : '流水证明'}`
      : certificate ? '✔ 核验通过：下列内容由账本签发'
        : '✔ 核验通过：所列流水在已签名的账本中（本页不显示其内容）');
  // Before the content: the page or paper in hand is what a forger edits, the data is what is signed.
  const compare = ok && certificate ? el('p', { id: 'verify-compare', class: 'warning', role: 'note' },
    '⚠ 以下面核验过的内容为准：请把您手中证明（网页或纸面）上的文字与下面逐项核对——',
    '姓名、日期、活动、服务队、时长、累计时长、星级。若手中证明与此不同，即为伪造。') : null;
  show(output, result, linked ? linkedKeyWarning('verify-linked-key') : null, compare,
    ok && certificate ? certificateContent(data) : null, details,
    notes.map((n) => el('p', { class: 'muted' }, n)));
}

// A QR summary's result: on a pass, what the key signed, in one sentence to hold the paper to, and
// what that does not prove.
function renderSummary(output, checked, linked) {
  const warning = linked ? linkedKeyWarning('verify-linked-key') : null;
  if (checked.problems.length) {
    return show(output,
      el('p', { id: 'verify-result', class: 'bad', role: 'alert' }, '✘ 核验未通过：不能确认这个证书二维码'),
      warning, el('p', { id: 'summary-verdict', class: 'bad' }, checked.problems[0].text));
  }
  const { fingerprint: print, summary } = checked.proven;
  const period = summary.from || summary.to ? `${summary.from || '…'} 至 ${summary.to || '…'}` : '全部期间';
  const verdict = `该证书摘要由密钥 ${print} 签署：${summary.name}（账号 ${summary.account}）` +
    `在${summary.programme}参加志愿服务（${period}），截至流水 #${summary.as_of_seq} ` +
    `累计 ${summary.cumulative_hours} 小时，星级 ${summary.star_level} 星；` +
    `证书所列 ${summary.activities} 项活动合计 ${summary.total_hours} 小时。`;
  // A key that came with the link proves nothing by itself (a forger's QR carries the forger's
  // key): the headline then says so, not that the check passed.
  return show(output,
    el('p', { id: 'verify-result', class: linked ? 'bad' : 'ok', role: linked ? 'alert' : 'status' },
      linked ? '⚠ 签名与链接里的公钥相符，但公钥来自链接：请先核对下面的指纹与本项目公布的是否一致，一致才算核验通过'
        : '✔ 核验通过：证书二维码的摘要由此公钥签署'),
    warning, el('p', { id: 'summary-verdict', class: 'ok' }, verdict),
    el('p', { id: 'summary-compare', class: 'warning', role: 'note' }, '⚠ 请与纸质证书逐项核对：',
      '摘要只证明签名者出具了这些数字；逐条活动的证明在证书文件里，用本页核验证书文件，',
      '或用命令 lovebank verify-certificate。'),
    el('p', { class: 'muted' }, `账本编号 ${summary.ledger_id}；证书数据的 SHA-256 为 ${summary.data_sha256}`,
      '（本页没有证书文件，未核对这一项）'));
}

function refused(output, p, linked = false) {
  show(output, el('p', { id: 'verify-result', class: 'bad', role: 'alert' }, `✘ ${p.text}`),
    linked ? linkedKeyWarning('verify-linked-key') : null, el('ul', { id: 'verify-details' }));
}

async function page() {
  const keyField = el('input', { id: 'verify-key', autocomplete: 'off', spellcheck: 'false',
    autocapitalize: 'off', placeholder: '64 位十六进制数字' });
  const shownFingerprint = el('div', { id: 'verify-fingerprint', class: 'muted' });
  const file = el('input', { id: 'verify-file', type: 'file',
    accept: '.json,.html,.htm,application/json,text/html' });
  const fileName = el('p', { class: 'muted', id: 'verify-file-name' });
  const pasted = el('textarea', { id: 'verify-input', rows: '6', spellcheck: 'false',
    placeholder: '把流水证明（JSON）、志愿服务证明网页的全部内容，或证书二维码扫出的文字（LB1. 开头）粘贴在这里' });
  const button = el('button', { id: 'verify-button', type: 'submit' }, '核验');
  const output = el('section', { id: 'verify-output', 'aria-live': 'polite' });
  let chosen = null;  // the chosen file's text
  // Whether the key in the field came from the link (/verify/#key=…), not typed or pasted by the
  // person: anyone can send a link with their own key.
  let keyFromLink = false;

  let shownFor = 0;  // the newest key typed: an older fingerprint arriving late is dropped
  async function showFingerprint() {
    const mine = ++shownFor;
    const text = keyField.value.trim();
    const key = parseKey(text);
    if (!text) return show(shownFingerprint, '请填写项目公布的账本公钥（项目管理员用 lovebank key 查看）');
    if (!key) return show(shownFingerprint, el('span', { class: 'error' }, '公钥应为 64 位十六进制数字（0–9、a–f）'));
    const print = await fingerprint(key);
    if (mine === shownFor) {
      show(shownFingerprint, '公钥指纹 ', el('b', { class: 'fingerprint' }, print),
        '：请与项目公布的指纹（公示栏、公众号、镇政府网站）核对，一致才可信',
        keyFromLink ? linkedKeyWarning('verify-key-warning') : null);
    }
  }
  keyField.addEventListener('input', () => { keyFromLink = false; showFingerprint(); });
  // What the link carries: a key goes into the field (flagged) unless the person typed one — a
  // later link never replaces a typed key —, a QR summary into the text box; whether there is a
  // summary to check.
  function takeLink() {
    const { key, payload } = linkFields(location.hash.slice(1));
    const typed = keyField.value.trim() && !keyFromLink;
    if (key !== null && key.trim() && !typed) { keyField.value = key.trim(); keyFromLink = true; }
    if (payload !== null) {
      chosen = null;
      file.value = '';
      show(fileName);
      pasted.value = payload;
    }
    return payload !== null;
  }
  let unsupported = null;  // why this browser cannot check, once known
  window.addEventListener('hashchange', () => {
    const summary = takeLink();
    showFingerprint();
    if (summary && !unsupported) check();
  });
  const summaryInLink = takeLink();

  file.addEventListener('change', async () => {
    chosen = null;
    show(output);
    const picked = file.files && file.files[0];
    if (!picked) return show(fileName);
    if (picked.size > CERTIFICATE_BYTES_MAX) {
      file.value = '';
      return show(fileName, el('span', { class: 'error' }, '文件太大，不是爱心银行的证明'));
    }
    chosen = await picked.text();
    pasted.value = '';
    show(fileName, `已选择：${picked.name}`);
  });
  pasted.addEventListener('input', () => {
    // What is typed or pasted is what gets checked: a file chosen earlier is set aside.
    if (chosen !== null) { chosen = null; file.value = ''; show(fileName); }
  });

  const form = el('form', { id: 'verify-form' },
    el('p', {}, '核验爱心银行的流水证明、志愿服务证明或证书二维码是否真实、是否被改动。只需要该项目公布的账本公钥；',
      '文件只在您的浏览器里核验，不会上传。'),
    el('label', { for: 'verify-key' }, '项目的账本公钥'), keyField, shownFingerprint,
    el('label', { for: 'verify-file' }, '选择文件（流水证明 .json 或志愿服务证明 .html）'), file, fileName,
    el('label', { for: 'verify-input' }, '或粘贴文件内容、证书二维码的文字'), pasted,
    button);
  async function check() {
    show(output, el('p', { id: 'verify-result', class: 'pending' }, '正在核验…'));
    button.disabled = true;
    let linked = keyFromLink;
    try {
      const text = chosen !== null ? chosen : pasted.value;
      const input = text.trim() ? readInput(text) : null;
      // A QR code's link pasted here carries a key as a link to the page does: it fills an empty
      // field, flagged the same way; a key the person gave stays.
      if (input && input.kind === 'summary' && input.key !== null && !keyField.value.trim()) {
        keyField.value = input.key.trim();
        keyFromLink = true;
        linked = true;
        showFingerprint();
      }
      const key = parseKey(keyField.value);
      if (!key) return refused(output, { text: '请先填写项目的账本公钥：64 位十六进制数字' });
      if (!input) return refused(output, { text: '请选择证明文件，或粘贴它的内容' }, linked);
      if (input.problem) return refused(output, input.problem, linked);
      if (input.kind === 'summary') {
        return renderSummary(output, await verifySummary(input.payload, key), linked);
      }
      // A certificate's page: its data element's text is held to lovebank's writing too.
      const checked = input.kind === 'bundle' ? await verifyBundle(input.bundle, key)
        : await verifyCertificate(input.data, key, { text: input.text });
      render(output, input.kind, input.data, checked, linked);
    } catch (error) {
      refused(output, { text: `核验时出错：${error && error.message ? error.message : error}` }, linked);
    } finally {
      button.disabled = false;
      // On a phone the verdict is below the form: bring it into view.
      output.scrollIntoView({ block: 'start' });
    }
  }
  form.addEventListener('submit', (event) => { event.preventDefault(); check(); });

  show(main, form, output);
  showFingerprint();
  unsupported = await cryptoProblem();
  if (unsupported) {
    button.disabled = true;
    show(output, el('p', { class: 'error', id: 'verify-unsupported', role: 'alert' }, unsupported.text));
  } else if (summaryInLink) {
    check();
  }
}

page();
