// Hours buy services (issue #26; docs/exchange.md), shared by the volunteer's phone (/app/) and
// the social worker's desk (/desk/): the form that asks for help (求助), and a list of requests
// with the steps the viewer may take on each. Who may take a step is the ledger's decision; the
// buttons only offer the steps that make sense for the viewer.
import { call, el, show, requestId, errorLine, RETRYABLE } from './lovebank.js';
import { settings } from './profile.js';

export const STATE_NAMES = {
  SERVICE_STATE_OPEN: '待接单',
  SERVICE_STATE_ACCEPTED: '已接单',
  SERVICE_STATE_COMPLETED: '待确认',
  SERVICE_STATE_DISPUTED: '有争议，等社工处理',
  SERVICE_STATE_CONFIRMED: '已确认',
  SERVICE_STATE_RESOLVED: '社工已裁定',
  SERVICE_STATE_CANCELLED: '已取消',
  SERVICE_STATE_EXPIRED: '已过期',
};

const DEFAULT_CATEGORIES = ['助老', '陪护', '家政', '理发', '维修', '代购', '心理'];

// The programme's categories (ServicePolicy), or the usual ones when it lists none.
async function categories(token) {
  const policy = (await settings(token)).servicePolicy;
  if (policy && policy.categories && policy.categories.length) {
    return policy.categories.map((c) => ({ name: c.name, standard: c.standardHours || '' }));
  }
  return DEFAULT_CATEGORIES.map((name) => ({ name, standard: '' }));
}

// One request id per action while it is retried; a new one once it is done or refused for good.
function once(kind) {
  let id = requestId(kind);
  return {
    get id() { return id; },
    done() { id = requestId(kind); },
    failed(error) { if (error.reason && !RETRYABLE.has(error.reason)) id = requestId(kind); },
  };
}

// The 求助 form. `member`: the member it is for (a phone's own account), or null: the desk asks
// which member (a social worker posting for a member without a phone).
export function requestForm({ token, member, onPosted }) {
  const field = (id, label, attributes = {}) => [el('label', { for: id }, label), el('input', { id, ...attributes })];
  const today = new Date().toLocaleDateString('sv-SE', { timeZone: 'Asia/Shanghai' });
  const who = member ? null : field('service-member', '为哪位会员求助', { placeholder: '会员编号' });
  const category = el('select', { id: 'service-category' });
  const description = field('service-description', '需要什么帮助', { placeholder: '例如：陪同去镇卫生院复查' });
  const day = field('service-day', '日期', { type: 'date', value: today });
  const time = field('service-time', '时间', { placeholder: '例如：09:00-11:00' });
  const place = field('service-place', '地点（村/社区）', { placeholder: '例如：柳树村' });
  const hours = field('service-hours', '愿付时长（小时，可不填：按类别标准）', { inputmode: 'decimal' });
  const message = el('div', { id: 'service-posted' });
  const action = once('ask');
  categories(token).then((list) => show(category, list.map((c) => el('option', { value: c.name },
    c.standard ? `${c.name}（标准 ${c.standard} 小时）` : c.name))));
  const button = el('button', { id: 'post-request', onclick: async () => {
    try {
      const got = await call('Exchange/PostRequest', { requestId: action.id, service: {
        member: member || who[1].value.trim(), category: category.value,
        description: description[1].value.trim(), day: day[1].value, time: time[1].value.trim(),
        place: place[1].value.trim(), hours: hours[1].value.trim() } }, token);
      action.done();
      show(message, el('p', { class: 'ok' }, `已发布求助（编号 ${got.seq}），等志愿者接单`));
      if (onPosted) onPosted();
    } catch (error) {
      action.failed(error);
      show(message, errorLine(error));
    }
  } }, '发布求助');
  return el('section', {}, el('h2', {}, member ? '我要求助' : '为会员求助'),
    el('p', { class: 'muted' }, '有人接单时，所付时长从求助人的余额中预留；服务确认后才付给服务者。'),
    who, el('label', { for: 'service-category' }, '类别'), category, description, day, time, place, hours,
    button, message);
}

// The steps `viewer` may take on `service`: {account, code} for a member's phone (code: the
// phone's payment code, when it has a PIN, for a confirmation), {worker: true} for a social worker
// (issuer) or admin.
function steps(service, viewer, run) {
  const state = service.state;
  const mine = viewer.account && service.member === viewer.account;
  const serving = viewer.account && service.provider === viewer.account && Number(service.acceptedSeq || 0) > 0;
  const offer = service.kind === 'SERVICE_KIND_OFFER';
  const buttons = [];
  const button = (name, label, handler, cls = '') => buttons.push(el('button', {
    class: cls, 'data-step': name, onclick: handler }, label));
  const begun = service.day <= new Date().toLocaleDateString('sv-SE', { timeZone: 'Asia/Shanghai' });
  const hoursInput = (value) => el('input', { class: 'step-hours', inputmode: 'decimal', value, placeholder: '小时' });
  const textInput = (placeholder) => el('input', { class: 'step-reason', placeholder });
  if (state === 'SERVICE_STATE_OPEN' && !offer) {
    if (viewer.worker) {
      const provider = el('input', { class: 'step-provider', placeholder: '服务者会员编号' });
      buttons.push(provider);
      button('assign', '指派', () => run('Exchange/Assign', { provider: provider.value.trim() }, '已指派'));
    } else if (!mine) {
      button('accept', '我来接单', () => run('Exchange/Accept', {}, '已接单，时长已预留'));
    }
  }
  if ((state === 'SERVICE_STATE_OPEN' || (state === 'SERVICE_STATE_ACCEPTED' && (!begun || viewer.worker)))
      && (mine || viewer.worker)) {
    const reason = textInput('取消原因，例如：服务者未到');
    buttons.push(reason);
    button('cancel', '取消', () => run('Exchange/Cancel', { reason: reason.value.trim() || '取消' },
      '已取消，预留时长已退回'), 'secondary');
  }
  if (state === 'SERVICE_STATE_ACCEPTED' && serving && !mine) {
    button('withdraw', '退出（不能去了）', () => run('Exchange/Cancel', { reason: '服务者退出' },
      '已退出，求助重新开放'), 'secondary');
  }
  if ((state === 'SERVICE_STATE_ACCEPTED' || state === 'SERVICE_STATE_COMPLETED') && (serving || viewer.worker)) {
    const hours = hoursInput(service.claimedHours || service.hours);
    buttons.push(hours);
    button('complete', '登记服务时长', () => run('Exchange/Complete', { hours: hours.value.trim() },
      '已登记，等求助人确认'));
  }
  if (state === 'SERVICE_STATE_COMPLETED' && (mine || viewer.worker)) {
    // The hours as shown are the ones agreed to: recorded again meanwhile, the ledger refuses.
    button('confirm', `确认已收到服务（付 ${service.claimedHours} 小时）`, () => run('Exchange/Confirm',
      async () => ({ hours: service.claimedHours, paymentCode: viewer.code ? await viewer.code() : '' }),
      '已确认，时长已付给服务者'));
  }
  // A dispute: after the time is recorded, or once the day has begun (a no-show).
  if ((state === 'SERVICE_STATE_COMPLETED' || (state === 'SERVICE_STATE_ACCEPTED' && begun)) && (mine || serving)) {
    const reason = textInput('有异议：说明情况');
    buttons.push(reason);
    button('dispute', '有异议', () => run('Exchange/Dispute', { reason: reason.value.trim() },
      '已提交，社工会处理'), 'secondary');
  }
  if (state === 'SERVICE_STATE_DISPUTED' && viewer.worker) {
    const hours = hoursInput(service.claimedHours || '');
    const reason = textInput('裁定说明');
    buttons.push(hours, reason);
    button('resolve', '裁定', () => run('Exchange/Resolve', { hours: hours.value.trim(),
      reason: reason.value.trim() }, '已裁定'));
  }
  return buttons;
}

// One service as a card with its steps.
function card(service, viewer, token, refresh) {
  const message = el('div', { class: 'step-message' });
  const actions = new Map();
  async function run(route, extra, done) {
    if (!actions.has(route)) actions.set(route, once('step'));
    const action = actions.get(route);
    try {
      // `extra`: the step's fields, or what makes them (a payment code may need the PIN first).
      const fields = typeof extra === 'function' ? await extra() : extra;
      await call(route, { requestId: action.id, serviceSeq: service.seq, ...fields }, token);
      action.done();
      show(message, el('p', { class: 'ok' }, done));
      setTimeout(refresh, 800);
    } catch (error) {
      action.failed(error);
      show(message, errorLine(error));
    }
  }
  const who = service.memberName || service.member;
  const by = service.providerName || service.provider;
  return el('article', { class: 'service', 'data-seq': service.seq, 'data-state': service.state },
    el('h3', {}, `${service.category}　${service.description}`),
    el('p', {}, `${service.day}${service.time ? ` ${service.time}` : ''}${service.place ? `　${service.place}` : ''}`),
    el('p', { class: 'muted' },
      `${service.kind === 'SERVICE_KIND_OFFER' ? '提供者' : '求助人'}：${who}`,
      service.hours ? `　${service.hours} 小时` : '',
      by ? `　服务者：${by}` : '',
      service.claimedHours ? `　登记 ${service.claimedHours} 小时` : '',
      service.paidHours ? `　已付 ${service.paidHours} 小时` : ''),
    el('p', { class: 'service-state' }, `编号 ${service.seq}　${STATE_NAMES[service.state] || service.state}`),
    el('div', { class: 'steps' }, steps(service, viewer, run)), message);
}

// A list of services (ListServices with `filter`) that refreshes itself after each step.
// `onChange`: what to refresh after a step (default: this list).
export function serviceList({ token, viewer, filter, title, id, emptyText, controls = [], onChange = null }) {
  const list = el('div', { id });
  const section = el('section', {}, el('h2', {}, title), controls, list);
  async function refresh() {
    try {
      const got = await call('Exchange/ListServices', typeof filter === 'function' ? filter() : filter, token);
      const services = got.services || [];
      show(list, services.length ? services.map((s) => card(s, viewer, token, onChange || refresh))
        : el('p', { class: 'muted' }, emptyText));
    } catch (error) { show(list, errorLine(error)); }
  }
  refresh();
  section.refresh = refresh;
  return section;
}
