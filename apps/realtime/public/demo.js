// Live demo page of the realtime ticket-lock service (CONTRACT §2–§3). Plain ES module, no build step,
// no framework. Every piece of text reaches the DOM through textContent / attributes, never innerHTML.
//
// URL parameters: ?eventId=<id> (default: the first of GET /events), ?token=<JWT> (sent as auth.token)
// or, in anonymous dev mode, ?userId=<id> (a random one is made up and put into the URL when absent,
// so a reload keeps the same user and its holds).

import { createSeatMap } from '/demo/seat-map.js';

const REQUEST_TIMEOUT_MS = 8000;
const NOTICE_MS = 8000;
const MAX_NOTICES = 4;
/** A hold whose countdown ran out this long ago without a lock-expired is checked with get-my-locks. */
const OVERDUE_CHECK_MS = 2500;

// ---- identity and initial parameters -------------------------------------------------------------

const params = new URLSearchParams(location.search);
/** Puts `params` back into the address bar (no reload, no new history entry). */
function writeParams() {
  history.replaceState(null, '', `${location.pathname}?${params}`);
}
const token = params.get('token') || undefined;
const userIdParam = token ? undefined : params.get('userId') || `guest-${randomId(6)}`;
if (!token && params.get('userId') !== userIdParam) {
  params.set('userId', userIdParam);
  writeParams();
}

/** Everything the page knows. Keys of ids are `String(id)`: the service treats `1` and `"1"` alike. */
const state = {
  /** GET /events */
  events: [],
  /** The raw id (number or string) of the event on screen. */
  eventId: undefined,
  /** categoryKey → { categoryId, name, availability, version, els } */
  categories: new Map(),
  /** lockId → { lock, deadline, cap, windowStart, seenAt, els } */
  locks: new Map(),
  /** Holds already told about (an answer and a notification for the same hold can both arrive, e.g. an expiry racing a release). */
  ended: new Set(),
  /** Server time − local time, in ms, from the `connected` greeting. */
  clockOffset: 0,
  connected: false,
  lastOverdueCheck: 0,
  /**
   * The waiting room of the event on screen (CONTRACT §7): state none (no room) | waiting | admitted |
   * closed, with the place and the figures of the last answer or queue-update.
   */
  queue: { eventKey: undefined, state: 'none' },
};

/** @type {import('socket.io-client').Socket | undefined} */
let socket;

/** The seat map of the event's reserved categories (seat-map.js); hidden for general admission. */
const seatMap = createSeatMap({
  request: (event, payload) => request(event, payload),
  notice: (kind, text) => notice(kind, text),
  onHeld: (lock) => {
    upsertLock(lock);
    notice('locked', `Holding ${describeHold(lock)} for ${formatDuration(lock.expiresInSeconds * 1000)}.`);
  },
  mySeats: () => new Set([...state.locks.values()].flatMap((entry) => entry.lock.seats ?? [])),
  myLockIn: (categoryId) =>
    [...state.locks.values()].find((entry) => key(entry.lock.eventId) === key(state.eventId) && key(entry.lock.categoryId) === key(categoryId) && entry.lock.seats)?.lock.lockId,
  requestId: () => randomId(12),
});

// ---- small DOM helpers ---------------------------------------------------------------------------

const $ = (selector) => document.querySelector(selector);

/** `h('div', { class: 'x', 'data-testid': 'y' }, 'text', child)`: attributes are set, strings become text nodes. */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return element;
}

function randomId(bytes) {
  // crypto.getRandomValues works on plain http too (randomUUID needs a secure context, e.g. not a phone on the LAN).
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
}

const key = (id) => String(id);
const serverNow = () => Date.now() + state.clockOffset;

function formatDuration(ms) {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

// ---- connection indicator and notices -------------------------------------------------------------

function setStatus(stateName, text) {
  const status = $('[data-testid="connection-status"]');
  status.dataset.state = stateName;
  status.querySelector('.status__text').textContent = text;
  state.connected = stateName === 'connected';
  for (const category of state.categories.values()) refreshCategoryControls(category);
  for (const entry of state.locks.values()) refreshLockControls(entry);
}

/** A toast: kind = locked | extended | released | expired | confirmed | ended | error. */
function notice(kind, text) {
  const container = $('[data-testid="notices"]');
  const close = h('button', { class: 'notice__close', type: 'button', 'aria-label': 'Dismiss' }, '×');
  const item = h('div', { class: 'notice', 'data-testid': 'notice', 'data-kind': kind, role: kind === 'error' ? 'alert' : 'status' }, h('span', { class: 'notice__text' }, text), close);
  const remove = () => item.remove();
  close.addEventListener('click', remove);
  setTimeout(remove, kind === 'error' ? NOTICE_MS * 1.5 : NOTICE_MS);
  container.append(item);
  while (container.children.length > MAX_NOTICES) container.firstElementChild.remove();
}

function showEmpty(text) {
  const empty = $('[data-testid="event-empty"]');
  empty.textContent = text;
  empty.hidden = text === '';
}

// ---- events and categories ------------------------------------------------------------------------

function eventSummary(eventId) {
  return state.events.find((event) => key(event.id) === key(eventId));
}

function categoryName(eventId, categoryId) {
  const category = eventSummary(eventId)?.categories.find((c) => key(c.categoryId) === key(categoryId));
  return category?.name ?? String(categoryId);
}

function describeHold(lock) {
  const seats = lock.seats?.length ? ` (${lock.seats.join(', ')})` : '';
  return `${lock.quantity} × ${categoryName(lock.eventId, lock.categoryId)}${seats}`;
}

function renderEventHeader() {
  const summary = eventSummary(state.eventId);
  $('#event-title').textContent = summary?.name ?? (state.eventId === undefined ? 'No event' : `Event ${state.eventId}`);
  document.title = `${summary?.name ?? 'Ticket holds'} · live demo`;
  const select = $('[data-testid="event-select"]');
  select.replaceChildren(...state.events.map((event) => h('option', { value: key(event.id), selected: key(event.id) === key(state.eventId) }, event.name)));
  if (state.eventId !== undefined && !summary) select.append(h('option', { value: key(state.eventId), selected: true }, `Event ${state.eventId}`));
  select.closest('.event-picker').hidden = select.options.length < 2;
}

/** One category card, built once and then updated in place. */
function buildCategory(eventId, categoryId, name) {
  const eventKey = key(eventId);
  const categoryKey = key(categoryId);
  const els = {
    root: h('article', { class: 'category', 'data-testid': `category-${eventKey}-${categoryKey}`, 'data-category-id': categoryKey }),
    available: h('strong', {}, '–'),
    sold: h('span', { class: 'bar__seg bar__seg--sold' }),
    locked: h('span', { class: 'bar__seg bar__seg--locked' }),
    free: h('span', { class: 'bar__seg bar__seg--available' }),
    counts: h('span', { class: 'category__counts' }),
    quantity: h('input', {
      class: 'qty',
      type: 'number',
      min: 1,
      step: 1,
      value: 1,
      inputmode: 'numeric',
      id: `qty-${eventKey}-${categoryKey}`,
      'data-testid': `quantity-${eventKey}-${categoryKey}`,
    }),
    button: h('button', { class: 'btn btn--primary', type: 'submit', 'data-testid': `lock-${eventKey}-${categoryKey}` }, 'Hold'),
  };
  els.bar = h('div', { class: 'bar', role: 'img' }, els.sold, els.locked, els.free);
  const form = h('form', { class: 'lock-form', novalidate: true }, h('label', { for: els.quantity.id }, 'Qty'), els.quantity, els.button);
  els.root.append(
    h(
      'div',
      { class: 'category__head' },
      h('h3', { class: 'category__name' }, name, ...(name === categoryKey ? [] : [h('span', { class: 'category__id' }, `#${categoryKey}`)])),
      h('span', { class: 'category__available' }, els.available, 'available'),
    ),
    els.bar,
    h('div', { class: 'category__foot' }, els.counts, form),
  );
  const category = { categoryId, name, availability: undefined, version: -1, pending: false, els };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void lockTickets(category);
  });
  return category;
}

/** Builds a category card and registers it in `state.categories` (the caller puts it on the page). */
function addCategory(eventId, categoryId, name) {
  const category = buildCategory(eventId, categoryId, name);
  state.categories.set(key(categoryId), category);
  return category;
}

/** Shows an event's categories from GET /events until the live snapshot arrives. */
function renderCategories(eventId, entries) {
  state.categories.clear();
  const cards = entries.map(({ categoryId, name, ...counts }) => {
    const category = addCategory(eventId, categoryId, name ?? String(categoryId));
    paintCategory(category, { eventId, categoryId, ...counts });
    return category.els.root;
  });
  $('[data-testid="categories"]').replaceChildren(...cards);
}

function paintCategory(category, availability) {
  category.availability = availability;
  const { totalTickets, availableTickets, lockedTickets, soldTickets } = availability;
  const { els } = category;
  const share = (n) => `${totalTickets > 0 ? (100 * n) / totalTickets : 0}%`;
  els.root.dataset.available = String(availableTickets);
  els.root.dataset.locked = String(lockedTickets);
  els.root.dataset.sold = String(soldTickets);
  els.root.dataset.total = String(totalTickets);
  els.available.textContent = String(availableTickets);
  els.sold.style.width = share(soldTickets);
  els.locked.style.width = share(lockedTickets);
  els.free.style.width = share(availableTickets);
  els.bar.setAttribute('aria-label', `${soldTickets} sold, ${lockedTickets} held, ${availableTickets} available of ${totalTickets}`);
  els.counts.textContent = `${soldTickets} sold · ${lockedTickets} held · ${totalTickets} total`;
  refreshCategoryControls(category);
}

function refreshCategoryControls(category) {
  const available = category.availability?.availableTickets ?? 0;
  category.els.button.disabled = !state.connected || category.pending || available === 0;
  category.els.quantity.max = String(Math.max(1, available));
}

/**
 * Applies a category's counts unless an equal or newer version is already shown (`availability-update`
 * can arrive late). A snapshot (join-event-room) also applies at an equal version.
 */
function applyAvailability(availability, { snapshot = false } = {}) {
  if (state.eventId === undefined || key(availability.eventId) !== key(state.eventId)) return;
  let category = state.categories.get(key(availability.categoryId));
  if (!category) {
    category = addCategory(availability.eventId, availability.categoryId, categoryName(availability.eventId, availability.categoryId));
    $('[data-testid="categories"]').append(category.els.root);
    showEmpty('');
  }
  if (snapshot ? availability.version < category.version : availability.version <= category.version) return;
  const changed = category.availability !== undefined && category.availability.availableTickets !== availability.availableTickets;
  category.version = availability.version;
  category.els.root.dataset.version = String(availability.version);
  paintCategory(category, availability);
  if (changed) flash(category.els.root);
}

function flash(element) {
  element.classList.add('is-changed');
  clearTimeout(element.flashTimer);
  element.flashTimer = setTimeout(() => element.classList.remove('is-changed'), 700);
}

// ---- my holds -------------------------------------------------------------------------------------

function buildLockItem(lock) {
  const els = {
    root: h('li', { class: 'lock', 'data-testid': 'lock-item', 'data-lock-id': lock.lockId }),
    what: h('span', { class: 'lock__what' }),
    where: h('span', { class: 'lock__where' }),
    time: h('span', { class: 'lock__time', 'data-testid': `countdown-${lock.lockId}` }),
    progress: h('span'),
    extend: h('button', { class: 'btn btn--ghost', type: 'button', 'data-testid': `extend-${lock.lockId}` }, 'Extend'),
    release: h('button', { class: 'btn btn--danger', type: 'button', 'data-testid': `release-${lock.lockId}` }, 'Release'),
  };
  els.root.append(
    h('div', { class: 'lock__row' }, h('div', {}, els.what, h('br'), els.where), els.time),
    h('div', { class: 'lock__progress' }, els.progress),
    h('div', { class: 'lock__actions' }, els.extend, els.release),
  );
  els.extend.addEventListener('click', () => void extendLock(lock.lockId));
  els.release.addEventListener('click', () => void releaseLock(lock.lockId));
  return els;
}

/** Adds or updates a hold (from a lock answer, an extension or get-my-locks). */
function upsertLock(lock) {
  if (state.ended.has(lock.lockId)) return;
  const deadline = Date.parse(lock.expiresAt);
  let entry = state.locks.get(lock.lockId);
  if (!entry) {
    const windowStart = lock.createdAt ? Date.parse(lock.createdAt) : serverNow();
    entry = { lock, deadline, windowStart, seenAt: performance.now(), pending: false, els: buildLockItem(lock) };
    state.locks.set(lock.lockId, entry);
    $('[data-testid="my-locks"]').prepend(entry.els.root);
  } else {
    entry.lock = { ...entry.lock, ...lock };
    if (deadline !== entry.deadline) {
      entry.deadline = deadline;
      entry.windowStart = serverNow();
    }
  }
  // The clock offset comes from a one-way message, so it can only make the countdown too long; the
  // server's own (rounded up) expiresInSeconds, counted down locally, bounds it from above.
  if (typeof lock.expiresInSeconds === 'number') entry.cap = performance.now() + lock.expiresInSeconds * 1000;
  entry.els.what.textContent = describeHold(entry.lock);
  const summary = eventSummary(entry.lock.eventId);
  entry.els.where.textContent = summary?.name ?? `Event ${entry.lock.eventId}`;
  refreshLockControls(entry);
  paintLock(entry, serverNow());
  renderLockCount();
  seatMap.repaint();
}

/** Takes a hold off the list and tells the user once, whichever message arrives first. */
function endLock(lockId, kind, text) {
  if (state.ended.has(lockId)) return;
  state.ended.add(lockId);
  const entry = state.locks.get(lockId);
  if (entry) {
    entry.els.root.remove();
    state.locks.delete(lockId);
    renderLockCount();
    seatMap.repaint();
  }
  notice(kind, text);
}

function renderLockCount() {
  $('[data-testid="my-locks-count"]').textContent = String(state.locks.size);
  $('[data-testid="my-locks-empty"]').hidden = state.locks.size > 0;
}

function refreshLockControls(entry) {
  entry.els.extend.disabled = !state.connected || entry.pending;
  entry.els.release.disabled = !state.connected || entry.pending;
}

function paintLock(entry, now) {
  const remaining = Math.min(entry.deadline - now, (entry.cap ?? Infinity) - performance.now());
  const window = Math.max(1, entry.deadline - entry.windowStart);
  entry.els.time.textContent = remaining > 0 ? formatDuration(remaining) : 'expiring…';
  entry.els.progress.style.width = `${Math.min(100, Math.max(0, (100 * remaining) / window))}%`;
  entry.els.root.classList.toggle('is-soon', remaining > 0 && (remaining < 30_000 || remaining < window * 0.2));
  entry.els.root.classList.toggle('is-over', remaining <= 0);
}

/** Live countdowns; a hold overdue without a lock-expired (e.g. missed while offline) is checked with the server. */
function tick() {
  if (state.queue.state === 'admitted') paintQueue();
  const now = serverNow();
  let overdue = false;
  for (const entry of state.locks.values()) {
    paintLock(entry, now);
    if (now - entry.deadline > OVERDUE_CHECK_MS) overdue = true;
  }
  if (overdue && state.connected && performance.now() - state.lastOverdueCheck > OVERDUE_CHECK_MS) {
    state.lastOverdueCheck = performance.now();
    void syncMyLocks();
  }
}

// ---- requests --------------------------------------------------------------------------------------

/** The server's clock, NTP style: its time was read half a round trip before the answer came back. */
async function syncClock() {
  const sent = Date.now();
  const answer = await request('heartbeat', {}).catch(() => undefined);
  const received = Date.now();
  if (!answer?.success || received - sent > 2000) return;
  state.clockOffset = Date.parse(answer.timestamp) - (sent + received) / 2;
}

/** Sends a request and resolves with its answer (`{ success: false, code, message }` on failure or timeout). */
async function request(event, payload) {
  if (!socket?.connected) return { success: false, code: 'OFFLINE', message: 'Not connected: try again once the indicator says Live.' };
  try {
    return await socket.timeout(REQUEST_TIMEOUT_MS).emitWithAck(event, payload);
  } catch {
    return { success: false, code: 'TIMEOUT', message: 'The server did not answer in time.' };
  }
}

async function lockTickets(category) {
  const input = category.els.quantity;
  const quantity = Number(input.value);
  if (!Number.isInteger(quantity) || quantity < 1) {
    notice('error', 'Pick a whole number of tickets, 1 or more.');
    input.focus();
    return;
  }
  category.pending = true;
  refreshCategoryControls(category);
  try {
    const answer = await request('lock-tickets', {
      eventId: state.eventId,
      categoryId: category.categoryId,
      quantity,
      requestId: randomId(12),
    });
    if (!answer.success) {
      notice('error', `Could not hold ${quantity} × ${category.name}: ${answer.message}`);
      if (answer.code === 'ADMISSION_REQUIRED') void joinQueue();
      return;
    }
    upsertLock(answer);
    // availableTickets: the count right after this hold (the room's update may come a moment later).
    const left = typeof answer.availableTickets === 'number' ? ` · ${answer.availableTickets} left` : '';
    notice('locked', `Holding ${quantity} × ${category.name} for ${formatDuration(answer.expiresInSeconds * 1000)}${left}.`);
  } finally {
    category.pending = false;
    refreshCategoryControls(category);
  }
}

/** A refused release / extend: a hold the server no longer has ends here, anything else is an error notice. */
function answerFailed(lockId, entry, answer, verb) {
  if (['LOCK_NOT_FOUND', 'LOCK_NOT_ACTIVE', 'LOCK_EXPIRED'].includes(answer.code)) {
    endLock(lockId, answer.code === 'LOCK_EXPIRED' ? 'expired' : 'ended', `${describeHold(entry.lock)}: ${answer.message}`);
  } else {
    notice('error', `Could not ${verb} ${describeHold(entry.lock)}: ${answer.message}`);
  }
}

async function releaseLock(lockId) {
  const entry = state.locks.get(lockId);
  if (!entry) return;
  entry.pending = true;
  refreshLockControls(entry);
  const answer = await request('unlock-tickets', { lockId });
  entry.pending = false;
  if (answer.success) {
    if (answer.status === 'ACTIVE') {
      upsertLock({ ...entry.lock, quantity: answer.remainingQuantity, expiresInSeconds: undefined });
    } else {
      endLock(lockId, 'released', `Released ${describeHold(entry.lock)}.`);
    }
    return;
  }
  refreshLockControls(entry);
  answerFailed(lockId, entry, answer, 'release');
}

async function extendLock(lockId) {
  const entry = state.locks.get(lockId);
  if (!entry) return;
  entry.pending = true;
  refreshLockControls(entry);
  const answer = await request('extend-lock', { lockId });
  entry.pending = false;
  refreshLockControls(entry);
  if (answer.success) {
    const gained = Date.parse(answer.expiresAt) - entry.deadline;
    upsertLock({ ...entry.lock, expiresAt: answer.expiresAt, expiresInSeconds: answer.expiresInSeconds });
    notice(
      'extended',
      gained > 0
        ? `${describeHold(entry.lock)} now held for ${formatDuration(answer.expiresInSeconds * 1000)}.`
        : `${describeHold(entry.lock)} is at its longest hold already.`,
    );
    return;
  }
  answerFailed(lockId, entry, answer, 'extend');
}

/** Replaces "my holds" with the server's list: holds that ended unseen (e.g. while offline) are told about. */
async function syncMyLocks() {
  const startedAt = performance.now();
  const answer = await request('get-my-locks', {});
  if (!answer.success) return;
  const active = answer.locks.filter((lock) => lock.status === 'ACTIVE');
  const current = new Set(active.map((lock) => lock.lockId));
  for (const [lockId, entry] of state.locks) {
    // A hold answered after this request was sent may be missing from the list without having ended.
    if (!current.has(lockId) && entry.seenAt < startedAt) {
      const overdue = serverNow() >= entry.deadline;
      endLock(lockId, overdue ? 'expired' : 'ended', overdue ? `Your hold on ${describeHold(entry.lock)} expired.` : `Your hold on ${describeHold(entry.lock)} has ended.`);
    }
  }
  for (const lock of active) upsertLock(lock);
}

/** Joins the event's room and shows its snapshot: after every (re)connection and event switch. */
async function joinEvent() {
  const eventId = state.eventId;
  if (eventId === undefined) return;
  const answer = await request('join-event-room', { eventId });
  if (key(state.eventId) !== key(eventId)) return;
  if (!answer.success) {
    seatMap.hide();
    if (answer.code === 'EVENT_NOT_FOUND') {
      renderCategories(eventId, []);
      showEmpty(`Event "${eventId}" is not known to this service.`);
    } else {
      notice('error', `Could not join the event: ${answer.message}`);
    }
    return;
  }
  const seen = new Set();
  for (const availability of answer.availability) {
    applyAvailability(availability, { snapshot: true });
    seen.add(key(availability.categoryId));
  }
  for (const [categoryKey, category] of state.categories) {
    if (!seen.has(categoryKey)) {
      category.els.root.remove();
      state.categories.delete(categoryKey);
    }
  }
  showEmpty(state.categories.size === 0 ? 'This event has no ticket categories.' : '');
  // Reserved categories: the seat map, read after joining so no seat-update falls in between.
  await seatMap.load(eventId);
  await joinQueue();
}

// ---- waiting room (CONTRACT §7) --------------------------------------------------------------------

/** Takes (or finds again: one place per user, whatever the tab) the place in the event's waiting room. */
async function joinQueue() {
  const eventId = state.eventId;
  if (eventId === undefined) return;
  const answer = await request('join-queue', { eventId });
  if (key(state.eventId) !== key(eventId)) return;
  if (!answer.success) {
    if (answer.code === 'QUEUE_NOT_FOUND') setQueue({ eventKey: key(eventId), state: 'none' });
    else if (answer.code === 'QUEUE_CLOSED') setQueue({ eventKey: key(eventId), state: 'closed' });
    else notice('error', `Could not join the queue: ${answer.message}`);
    return;
  }
  setQueue({
    eventKey: key(eventId),
    state: answer.state,
    position: answer.position,
    ahead: answer.ahead,
    servingPosition: answer.servingPosition,
    queueLength: answer.queueLength,
    estimatedWaitSeconds: answer.estimatedWaitSeconds,
    salesStartAt: answer.salesStartAt,
    admissionExpiresAt: answer.admissionExpiresAt,
  });
}

async function leaveQueue() {
  const eventId = state.eventId;
  if (eventId === undefined) return;
  const answer = await request('leave-queue', { eventId });
  if (!answer.success) {
    notice('error', `Could not leave the queue: ${answer.message}`);
    return;
  }
  setQueue({ eventKey: key(eventId), state: 'left' });
  notice('released', 'You left the waiting room.');
}

function setQueue(queue) {
  // The clock offset comes from a round trip whose two halves may differ, so a fresh 10-minute turn
  // can read 10:01: the countdown never shows more whole seconds than it had when the admission came.
  if (queue.admissionExpiresAt && queue.admissionExpiresAt === state.queue.admissionExpiresAt) {
    queue.admissionCap = state.queue.admissionCap;
  } else if (queue.admissionExpiresAt) {
    queue.admissionCap = performance.now() + Math.floor((Date.parse(queue.admissionExpiresAt) - serverNow()) / 1000) * 1000;
  }
  state.queue = queue;
  paintQueue();
}

/** The queue view while waiting (or closed), the hold view otherwise. */
function paintQueue() {
  const queue = state.queue;
  const panel = $('[data-testid="queue"]');
  const onScreen = queue.eventKey === key(state.eventId) && queue.state !== 'none';
  panel.hidden = !onScreen;
  panel.dataset.state = onScreen ? queue.state : 'none';
  document.body.dataset.view = onScreen && queue.state !== 'admitted' ? 'queue' : 'hold';
  if (!onScreen) return;
  const title = $('[data-testid="queue-title"]');
  const note = $('[data-testid="queue-note"]');
  const leave = $('[data-testid="queue-leave"]');
  leave.hidden = queue.state === 'closed' || queue.state === 'left';
  leave.textContent = queue.state === 'admitted' ? 'Done: give my turn up' : 'Leave the queue';
  if (queue.state === 'admitted') {
    title.textContent = 'It is your turn: hold your tickets now';
    note.textContent = '';
    if (queue.admissionExpiresAt) {
      const left = Math.min(Date.parse(queue.admissionExpiresAt) - serverNow(), queue.admissionCap - performance.now());
      note.textContent = `Your turn ends in ${formatDuration(left)}.`;
    }
    return;
  }
  if (queue.state === 'closed') {
    title.textContent = 'The waiting room is closed';
    note.textContent = 'The sale ended or the queue was switched off.';
    return;
  }
  if (queue.state === 'left') {
    title.textContent = 'You left the queue';
    note.textContent = 'Reload the page to queue again (at the back).';
    return;
  }
  title.textContent = 'You are in the queue';
  const placed = queue.position !== undefined;
  // People ahead: exact in the answer; after that, what admission has passed since (leavers make it shorter).
  const ahead = placed ? Math.max(0, Math.min(queue.ahead ?? Infinity, queue.position - queue.servingPosition - 1)) : undefined;
  const estimate = placed && queue.admitPerMinute ? Math.ceil(((ahead + 1) * 60) / queue.admitPerMinute) : queue.estimatedWaitSeconds;
  $('[data-testid="queue-position"]').textContent = placed ? String(queue.position) : '–';
  $('[data-testid="queue-ahead"]').textContent = placed ? String(ahead) : '–';
  $('[data-testid="queue-estimate"]').textContent = placed && estimate !== undefined ? formatDuration(estimate * 1000) : '–';
  note.textContent = placed
    ? `Now serving place ${queue.servingPosition} · ${queue.queueLength} waiting. Keep this page open: you will be let in automatically.`
    : queue.salesStartAt
      ? `The sale starts at ${new Date(queue.salesStartAt).toLocaleTimeString()}: everyone here by then gets a place in a random order.`
      : 'Waiting for a place…';
}

function onQueueUpdate(update) {
  const queue = state.queue;
  if (queue.eventKey !== key(update.eventId)) return;
  if (update.closed) {
    setQueue({ eventKey: queue.eventKey, state: 'closed' });
    return;
  }
  if (queue.state !== 'waiting') return;
  // Places are drawn at salesStartAt: ask for ours once admission has started.
  const started = queue.salesStartAt === undefined || Date.parse(queue.salesStartAt) <= serverNow();
  if (queue.position === undefined && started) void joinQueue();
  setQueue({ ...queue, servingPosition: update.servingPosition, queueLength: update.queueLength, admitPerMinute: update.admitPerMinute });
}

function onQueueAdmitted(admitted) {
  if (key(admitted.eventId) !== key(state.eventId)) return;
  setQueue({ eventKey: key(admitted.eventId), state: 'admitted', admissionExpiresAt: admitted.admissionExpiresAt });
  notice('locked', 'It is your turn: you can hold tickets now.');
}

/** After a (re)connection: versions start over (a restarted server may count from 1 again), then resync. */
async function resync() {
  for (const category of state.categories.values()) category.version = -1;
  await Promise.all([joinEvent(), syncMyLocks()]);
}

async function switchEvent(eventId) {
  if (key(eventId) === key(state.eventId)) return;
  const previous = state.eventId;
  state.eventId = eventSummary(eventId)?.id ?? eventId;
  params.set('eventId', key(eventId));
  writeParams();
  renderEventHeader();
  renderCategories(state.eventId, eventSummary(eventId)?.categories ?? []);
  paintQueue();
  if (previous !== undefined) void request('leave-event-room', { eventId: previous });
  await joinEvent();
}

// ---- socket ---------------------------------------------------------------------------------------

function connect(io) {
  socket = io('/realtime', {
    // WebSocket first (no sticky sessions needed behind a balancer), long-polling as a fallback.
    transports: ['websocket', 'polling'],
    auth: token ? { token } : {},
    query: userIdParam ? { userId: userIdParam } : {},
    // Socket.IO's own reconnection: exponential backoff with jitter, 0.5 s → 10 s.
    reconnection: true,
    reconnectionDelay: 500,
    reconnectionDelayMax: 10_000,
    randomizationFactor: 0.5,
  });
  let manualAttempts = 0;

  socket.on('connect', () => {
    manualAttempts = 0;
    setStatus('connected', 'Live');
  });
  socket.on('connected', (hello) => {
    // A first guess, late by however long `connected` took to arrive and be handled (countdowns would
    // then show a second too many); refined at once from a heartbeat's round trip.
    state.clockOffset = Date.parse(hello.serverTime) - Date.now();
    $('[data-testid="user-id"]').textContent = hello.userId;
    void syncClock();
    void resync();
  });
  socket.on('disconnect', (reason) => {
    setStatus('disconnected', 'Offline · reconnecting');
    // The server closed this session on purpose (e.g. it is shutting down): Socket.IO does not come back by itself then.
    if (reason === 'io server disconnect') {
      const delay = Math.min(10_000, 500 * 2 ** manualAttempts++) * (0.5 + Math.random());
      setTimeout(() => socket.connect(), delay);
    }
  });
  socket.on('connect_error', (error) => {
    if (socket.active) {
      setStatus('disconnected', 'Offline · reconnecting');
      return;
    }
    // Refused by the server (bad or missing token): retrying would not help.
    setStatus('disconnected', 'Refused');
    notice('error', `Connection refused: ${error.data?.message ?? error.message}`);
  });
  socket.io.on('reconnect_attempt', (attempt) => setStatus('connecting', attempt > 1 ? `Reconnecting (${attempt})…` : 'Reconnecting…'));

  socket.on('availability-update', (availability) => applyAvailability(availability));
  socket.on('seat-update', (update) => seatMap.apply(update));
  socket.on('lock-expired', (n) => endLock(n.lockId, 'expired', `Your hold on ${describeHold(n)} expired.`));
  socket.on('lock-released', (n) => endLock(n.lockId, 'released', `Released ${describeHold(n)}${reasonText(n.reason)}.`));
  socket.on('lock-confirmed', (n) => endLock(n.lockId, 'confirmed', `Confirmed ${describeHold(n)}: the order went through.`));
  socket.on('error', (error) => notice('error', error?.message ?? 'The server reported an error.'));
  socket.on('queue-update', onQueueUpdate);
  socket.on('queue-admitted', onQueueAdmitted);
}

function reasonText(reason) {
  if (!reason || reason === 'user-unlock' || reason === 'released') return '';
  if (reason === 'disconnected') return ' after the connection dropped';
  return ` (${reason})`;
}

// ---- start -----------------------------------------------------------------------------------------

async function loadEvents() {
  try {
    const response = await fetch('/events', { headers: { accept: 'application/json' } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    state.events = await response.json();
  } catch (error) {
    notice('error', `Could not load the event list (${error.message}).`);
  }
}

async function main() {
  $('[data-testid="user-id"]').textContent = userIdParam ?? '(token)';
  const select = $('[data-testid="event-select"]');
  select.addEventListener('change', () => void switchEvent(select.value));
  $('[data-testid="queue-leave"]').addEventListener('click', () => void leaveQueue());

  let io;
  try {
    ({ io } = await import('/demo/socket.io.esm.min.js'));
  } catch {
    setStatus('disconnected', 'No client');
    showEmpty('The Socket.IO client bundle could not be loaded (is socket.io-client installed?).');
    return;
  }
  await loadEvents();
  const wanted = params.get('eventId') ?? undefined;
  state.eventId = wanted === undefined ? state.events[0]?.id : (eventSummary(wanted)?.id ?? wanted);
  renderEventHeader();
  if (state.eventId === undefined) {
    showEmpty('The service knows no events yet. Open this page with ?eventId=<id>.');
  } else {
    renderCategories(state.eventId, eventSummary(state.eventId)?.categories ?? []);
  }
  $('[data-testid="categories"]').after(seatMap.root);
  renderLockCount();
  connect(io);
  setInterval(tick, 250);
}

void main();
