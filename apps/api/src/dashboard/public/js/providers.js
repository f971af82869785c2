// Owns the provider cards: state and circuit (coloured), consecutive failures, a countdown to the
// next half-open probe and to the end of a 429 cooldown, and the last error. Cards are keyed by
// provider and updated in place; countdowns tick every second against the server's clock.
import { el, formatAgo, formatDuration } from './format.js';

const CIRCUIT_LABEL = { closed: 'closed', half_open: 'half-open', open: 'open' };

export class ProviderBoard {
  constructor(container) {
    this.container = container;
    this.cards = new Map();
    this.providers = new Map();
    /** server time minus local time, from the last snapshot */
    this.offsetMs = 0;
    this.timer = setInterval(() => this.tick(), 1000);
  }

  now() {
    return Date.now() + this.offsetMs;
  }

  /** Replaces the whole list with a snapshot's. */
  update(providers, serverAt) {
    this.offsetMs = serverAt - Date.now();
    // Cards are per deployment (the unit of health); state events name the deployment too.
    this.providers = new Map(providers.map((p) => [p.deployment ?? p.provider, p]));
    if (providers.length === 0) {
      this.container.replaceChildren(el('p', { className: 'muted' }, 'no provider is enabled'));
      this.cards.clear();
      return;
    }
    for (const name of [...this.cards.keys()]) {
      if (!this.providers.has(name)) {
        this.cards.get(name).root.remove();
        this.cards.delete(name);
      }
    }
    if (this.container.querySelector('p.muted')) this.container.replaceChildren();
    for (const p of providers) this.render(p);
  }

  /** Applies a circuit state-change event at once, before the next snapshot arrives. */
  applyEvent(event) {
    const p = this.providers.get(event.provider);
    if (!p) return;
    if (event.type === 'circuit') {
      p.circuit = {
        ...p.circuit,
        state: event.to,
        consecutive_failures: event.consecutive_failures,
        opened_at: event.opened_at ?? (event.to === 'closed' ? null : p.circuit.opened_at),
        next_probe_at: event.next_probe_at ?? (event.to === 'closed' ? null : p.circuit.next_probe_at),
      };
    } else if (event.type === 'provider_state') {
      p.state = event.to;
    } else if (event.type === 'cooldown') {
      p.cooldown_until = event.until;
    }
    this.render(p);
  }

  card(name, kind) {
    let card = this.cards.get(name);
    if (card) return card;
    const parts = {
      title: el('span', {}, kind && kind !== name ? `${name} (${kind})` : name),
      circuit: el('span', { className: 'badge' }),
      state: el('span', { className: 'badge' }),
      failures: el('div', { className: 'line' }),
      probe: el('div', { className: 'line probe' }),
      cooldown: el('div', { className: 'line cooldown' }),
      error: el('div', { className: 'line error' }),
      checked: el('div', { className: 'line' }),
    };
    const root = el(
      'article',
      { className: 'provider' },
      el('div', { className: 'name' }, parts.title, parts.circuit),
      el('div', {}, 'state ', parts.state),
      parts.failures,
      parts.probe,
      parts.cooldown,
      parts.error,
      parts.checked,
    );
    root.dataset.provider = name;
    card = { root, ...parts };
    this.cards.set(name, card);
    this.container.append(root);
    return card;
  }

  render(p) {
    const c = this.card(p.deployment ?? p.provider, p.provider);
    const circuit = p.circuit?.state ?? 'closed';
    c.root.dataset.circuit = circuit;
    c.root.dataset.state = p.state;
    c.circuit.textContent = `circuit ${CIRCUIT_LABEL[circuit] ?? circuit}`;
    c.circuit.className = `badge circuit-${circuit}`;
    c.state.textContent = p.state;
    c.state.className = `badge state-${p.state}`;
    c.failures.textContent = `consecutive failures: ${p.circuit?.consecutive_failures ?? 0}`;
    const nextProbe = circuit === 'closed' ? null : p.circuit?.next_probe_at;
    c.probe.dataset.deadline = nextProbe ?? '';
    c.cooldown.dataset.deadline = p.cooldown_until ?? '';
    const err = p.last_error;
    c.error.textContent = err ? `last error: ${err.class} — ${err.message}` : '';
    c.error.title = err ? `${err.class}: ${err.message}` : '';
    c.error.hidden = !err;
    c.checked.dataset.at = p.checked_at ?? '';
    this.tickCard(c);
  }

  tickCard(c) {
    const now = this.now();
    const probeAt = Number(c.probe.dataset.deadline) || 0;
    c.probe.hidden = !probeAt;
    if (probeAt)
      c.probe.textContent = probeAt > now ? `next probe in ${formatDuration(probeAt - now)}` : 'probe due: the next call is the probe';
    const coolUntil = Number(c.cooldown.dataset.deadline) || 0;
    c.cooldown.hidden = !(coolUntil > now);
    if (coolUntil > now) c.cooldown.textContent = `429 cooldown: ${formatDuration(coolUntil - now)} left`;
    const checkedAt = Number(c.checked.dataset.at) || 0;
    c.checked.textContent = checkedAt ? `checked ${formatAgo(now - checkedAt)}` : 'never checked';
  }

  tick() {
    for (const c of this.cards.values()) this.tickCard(c);
  }
}
