// The seat map of the demo page (CONTRACT §6): reserved categories as a grid of seats coloured by status,
// yours highlighted; click free seats to pick them, "Hold seats" holds them all or nothing (added to your
// lock in that category if you have one); `seat-update`s from other buyers repaint seats live.
// Plain ES module; text reaches the DOM through textContent / attributes only.

/** `h('div', { class: 'x' }, 'text', child)`. */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) if (value !== undefined && value !== false) element.setAttribute(name, value === true ? '' : String(value));
  for (const child of children) element.append(child);
  return element;
}

const STATUS_TEXT = { available: 'free', held: 'held', sold: 'sold', blocked: 'not for sale' };

/**
 * @param {{
 *   request: (event: string, payload: unknown) => Promise<any>,
 *   notice: (kind: string, text: string) => void,
 *   onHeld: (lock: any) => void,
 *   mySeats: () => Set<string>,
 *   myLockIn: (categoryId: unknown) => string | undefined,
 *   requestId: () => string,
 * }} hooks
 */
export function createSeatMap(hooks) {
  const grid = h('div', { class: 'seatmap__grid' });
  const picked = h('span', { class: 'seatmap__picked', 'data-testid': 'seats-picked' }, 'Pick seats on the map.');
  const button = h('button', { class: 'btn btn--primary', type: 'button', 'data-testid': 'hold-seats', disabled: true }, 'Hold seats');
  const root = h(
    'section',
    { class: 'seatmap', 'data-testid': 'seat-map', hidden: true, 'aria-label': 'Seat map' },
    h('div', { class: 'seatmap__head' }, h('h3', {}, 'Seats'), h('span', { class: 'seatmap__screen' }, 'screen / stage this way')),
    grid,
    h('div', { class: 'seatmap__actions' }, picked, button),
  );

  const state = {
    eventId: undefined,
    version: -1,
    /** seatId → { seatId, categoryId, status, el } */
    seats: new Map(),
    selected: new Set(),
    busy: false,
    loading: undefined,
  };

  function paint(seat) {
    const mine = seat.status === 'held' && hooks.mySeats().has(seat.seatId);
    seat.el.dataset.status = seat.status;
    seat.el.dataset.mine = mine ? 'true' : 'false';
    seat.el.classList.toggle('is-selected', state.selected.has(seat.seatId));
    seat.el.disabled = seat.status !== 'available' && !state.selected.has(seat.seatId);
    seat.el.title = `${seat.seatId}: ${mine ? 'yours' : STATUS_TEXT[seat.status] ?? seat.status}`;
    seat.el.setAttribute('aria-pressed', state.selected.has(seat.seatId) ? 'true' : 'false');
  }

  function refreshActions() {
    const count = state.selected.size;
    picked.textContent = count === 0 ? 'Pick seats on the map.' : `${count} seat${count === 1 ? '' : 's'}: ${[...state.selected].join(', ')}`;
    button.disabled = count === 0 || state.busy;
  }

  function toggle(seat) {
    if (state.selected.has(seat.seatId)) state.selected.delete(seat.seatId);
    else if (seat.status === 'available') state.selected.add(seat.seatId);
    paint(seat);
    refreshActions();
  }

  function render(map) {
    state.seats.clear();
    state.version = map.version;
    const blocks = [];
    for (const category of map.categories) {
      const rows = category.rows.map((row) =>
        h(
          'div',
          { class: 'seatmap__row' },
          h('span', { class: 'seatmap__label' }, row.row),
          ...row.seats.map((entry) => {
            // The demo cinema's aisle is a column of blocked seats named "<row>-aisle": drawn as a gap.
            const aisle = entry.status === 'blocked' && entry.seatId.endsWith('-aisle');
            const el = h('button', { class: aisle ? 'seat seat--aisle' : 'seat', type: 'button', 'data-testid': `seat-${entry.seatId}` });
            const seat = { seatId: entry.seatId, categoryId: category.categoryId, status: entry.status, el };
            el.addEventListener('click', () => toggle(seat));
            state.seats.set(seat.seatId, seat);
            paint(seat);
            return el;
          }),
        ),
      );
      blocks.push(h('div', { class: 'seatmap__category', 'data-category-id': String(category.categoryId) }, ...rows));
    }
    for (const id of [...state.selected]) if (state.seats.get(id)?.status !== 'available') state.selected.delete(id);
    grid.replaceChildren(...blocks);
    root.dataset.version = String(map.version);
    root.hidden = map.categories.length === 0;
    refreshActions();
  }

  /** Reads the whole map (after joining the room, so no update falls in between). */
  async function load(eventId) {
    state.eventId = eventId;
    const pending = hooks.request('get-seat-map', { eventId });
    state.loading = pending;
    const answer = await pending;
    if (state.loading !== pending || String(state.eventId) !== String(eventId)) return;
    state.loading = undefined;
    if (!answer.success) {
      root.hidden = true;
      if (answer.code !== 'EVENT_NOT_FOUND') hooks.notice('error', `Could not load the seat map: ${answer.message}`);
      return;
    }
    render(answer);
  }

  /** A `seat-update`: applied when it follows on from our version, else the map is read again. */
  function apply(update) {
    if (state.eventId === undefined || String(update.eventId) !== String(state.eventId) || state.loading) return;
    if (update.version <= state.version) return;
    if (update.fromVersion > state.version) {
      void load(state.eventId);
      return;
    }
    for (const change of update.changes) {
      const seat = state.seats.get(change.seatId);
      if (!seat) continue;
      seat.status = change.status;
      if (change.status !== 'available') state.selected.delete(change.seatId);
      paint(seat);
    }
    state.version = update.version;
    root.dataset.version = String(update.version);
    refreshActions();
  }

  /** Yours changed (a hold, a release): repaint the highlight. */
  function repaint() {
    for (const seat of state.seats.values()) paint(seat);
  }

  async function holdSelected() {
    const seatIds = [...state.selected];
    if (seatIds.length === 0 || state.busy) return;
    const categoryId = state.seats.get(seatIds[0])?.categoryId;
    const lockId = hooks.myLockIn(categoryId);
    state.busy = true;
    refreshActions();
    try {
      const answer = await hooks.request('hold-seats', { eventId: state.eventId, seatIds, requestId: hooks.requestId(), ...(lockId ? { lockId } : {}) });
      if (!answer.success) {
        const which = answer.seatIds?.length ? ` (${answer.seatIds.join(', ')})` : '';
        hooks.notice('error', `Could not hold the seats: ${answer.message}${which}`);
        return;
      }
      state.selected.clear();
      hooks.onHeld(answer);
      // The answer is ours: paint the seats at once, the seat-update confirms it.
      for (const id of answer.seats ?? []) {
        const seat = state.seats.get(id);
        if (seat) seat.status = 'held';
      }
      repaint();
    } finally {
      state.busy = false;
      refreshActions();
    }
  }

  button.addEventListener('click', () => void holdSelected());
  return { root, load, apply, repaint, hide: () => (root.hidden = true) };
}
