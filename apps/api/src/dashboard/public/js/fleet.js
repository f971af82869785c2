// Owns the queue counts and the live worker table (each replica's load as active jobs over its
// concurrency, its last heartbeat and uptime).
import { el, formatAgo, formatCount, formatDuration } from './format.js';

const QUEUE_FIELDS = ['waiting', 'active', 'delayed', 'completed', 'failed'];

export function renderQueue(container, queue) {
  if (!queue) {
    container.replaceChildren(el('p', { className: 'muted' }, 'queue counts unavailable'));
    return;
  }
  if (container.children.length !== QUEUE_FIELDS.length) {
    container.replaceChildren(
      ...QUEUE_FIELDS.map((name) => {
        const box = el('div', {}, el('dt', {}, name), el('dd', {}, '0'));
        box.dataset.count = name;
        return box;
      }),
    );
  }
  for (const name of QUEUE_FIELDS) {
    const dd = container.querySelector(`[data-count="${name}"] dd`);
    if (dd) dd.textContent = formatCount(queue[name]);
  }
}

// A replica whose config hash differs from this API's runs another version of the fleet config
// (mid-rollout, or a reload it refused): marked, never silent.
export function renderWorkers(tbody, countLabel, workers, serverNow, configHash) {
  countLabel.textContent = `(${workers.length} live)`;
  if (workers.length === 0) {
    tbody.replaceChildren(el('tr', {}, el('td', { colSpan: 6, className: 'muted' }, 'no live worker: start one with pnpm start:worker')));
    return;
  }
  tbody.replaceChildren(
    ...workers.map((w) => {
      const share = w.concurrency > 0 ? Math.min(1, w.active_jobs / w.concurrency) : 0;
      const fill = el('span');
      fill.style.width = `${Math.round(share * 100)}%`;
      const row = el(
        'tr',
        {},
        el('td', { title: w.id }, w.id.length > 28 ? `${w.id.slice(0, 27)}…` : w.id),
        el('td', {}, `${w.host} / ${w.pid}`),
        el('td', {}, el('span', { className: 'load' }, fill), `${w.active_jobs}/${w.concurrency}`),
        el('td', {}, formatAgo(serverNow - w.last_heartbeat_at)),
        el('td', {}, formatDuration(serverNow - w.started_at)),
        configCell(w.config_hash, configHash),
      );
      row.dataset.worker = w.id;
      if (w.config_hash !== configHash) row.classList.add('config-differs');
      return row;
    }),
  );
}

function configCell(workerHash, apiHash) {
  if (!workerHash) return el('td', { className: 'config-differs', title: 'this worker does not report its config' }, 'unknown');
  if (workerHash === apiHash) return el('td', { className: 'muted', title: 'same config as this API' }, workerHash);
  return el('td', { className: 'config-differs', title: `differs from this API's config ${apiHash}` }, `${workerHash} ≠ ${apiHash}`);
}
