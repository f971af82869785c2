// Owns the tokens-and-spend panel: one table per grouping (routes, deployments, clients), each row
// its tokens and dollars over the last hour and the last 30 days, from /dashboard/api/usage.
import { el, formatCount } from './format.js';

const GROUPS = [
  ['route', 'Routes'],
  ['deployment', 'Deployments'],
  ['client', 'Clients'],
];

export function formatUsd(usd) {
  const n = Number(usd ?? 0);
  if (n === 0) return '$0';
  return n < 0.01 ? `$${n.toFixed(6)}` : `$${n.toFixed(2)}`;
}

const tokens = (f) => formatCount(f.prompt_tokens + f.completion_tokens);

function table(rows) {
  const head = el(
    'tr',
    {},
    el('th', {}, 'name'),
    el('th', { className: 'num' }, 'tokens 1h'),
    el('th', { className: 'num' }, 'spend 1h'),
    el('th', { className: 'num' }, 'tokens 30d'),
    el('th', { className: 'num' }, 'spend 30d'),
  );
  const body =
    rows.length === 0
      ? [el('tr', {}, el('td', { colSpan: 5, className: 'muted' }, 'no usage yet'))]
      : rows.map((row) => {
          const tr = el(
            'tr',
            {},
            el('td', { title: row.key }, row.key),
            el('td', { className: 'num' }, tokens(row.hour)),
            el('td', { className: 'num' }, formatUsd(row.hour.cost_usd)),
            el('td', { className: 'num' }, tokens(row.month)),
            el('td', { className: 'num' }, formatUsd(row.month.cost_usd)),
          );
          tr.dataset.key = row.key;
          return tr;
        });
  return el('table', { className: 'usage-table' }, el('thead', {}, head), el('tbody', {}, ...body));
}

export function renderUsage(container, board) {
  container.replaceChildren(
    ...GROUPS.map(([group, title]) => {
      const box = el('div', {}, el('h3', {}, title), table(board.groups[group] ?? []));
      box.dataset.usage = group;
      return box;
    }),
  );
}
