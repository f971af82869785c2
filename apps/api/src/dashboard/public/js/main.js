// Owns the page's start-up and wiring: asks for the API key when the server requires one, opens
// the live stream, routes its events (snapshot, series, state, problem) to the views, and runs
// the force-refresh button. The page never reloads; everything but the usage panel (polled, its
// figures move with finished jobs, not state changes) arrives over the stream.
import { apiFetch, apiJson, authRequired, forgetKey, getKey, openStream, setKey, Unauthorized } from './api.js';
import { Charts } from './charts.js';
import { renderQueue, renderWorkers } from './fleet.js';
import { formatTime } from './format.js';
import { ProviderBoard } from './providers.js';
import { renderUsage } from './usage.js';

const $ = (id) => document.getElementById(id);

const view = {
  board: $('board'),
  connection: $('connection'),
  updated: $('updated'),
  problem: $('problem'),
  keyForm: $('key-form'),
  keyInput: $('key-input'),
  forget: $('forget-key'),
  refresh: $('refresh'),
};

const providers = new ProviderBoard($('providers'));
const charts = new Charts();
let stream = null;
let usageTimer = null;
const USAGE_EVERY_MS = 10_000;

async function pollUsage() {
  try {
    renderUsage($('usage'), await apiJson('/dashboard/api/usage'));
    $('usage-updated').textContent = `updated ${formatTime(Date.now())}`;
  } catch (err) {
    if (err instanceof Unauthorized) return;
    $('usage-updated').textContent = `unavailable: ${err.message}`;
  }
}

function setConnection(state, reason) {
  view.connection.dataset.state = state;
  view.connection.textContent = state;
  if (state === 'unauthorized') askForKey(reason);
}

function showProblem(text) {
  view.problem.textContent = text ?? '';
  view.problem.hidden = !text;
}

function applySnapshot(snapshot) {
  providers.update(snapshot.providers, snapshot.at);
  renderQueue($('queue'), snapshot.queue);
  renderWorkers($('workers'), $('workers-count'), snapshot.workers, snapshot.at, snapshot.config_hash);
  view.updated.textContent = `updated ${formatTime(snapshot.at)}`;
  showProblem(snapshot.errors.length > 0 ? `Partly unavailable: ${snapshot.errors.join('; ')}` : '');
}

function onEvent(event, data) {
  if (event === 'snapshot') applySnapshot(data);
  else if (event === 'series') charts.update(data);
  else if (event === 'state') providers.applyEvent(data);
  else if (event === 'problem') showProblem(`The state store is unreachable (${data.part}); retrying.`);
}

function connect() {
  stream?.close();
  view.keyForm.hidden = true;
  view.board.hidden = false;
  view.forget.hidden = !getKey();
  stream = openStream('/dashboard/api/stream', onEvent, setConnection);
  clearInterval(usageTimer);
  pollUsage();
  usageTimer = setInterval(pollUsage, USAGE_EVERY_MS);
  // bull-board pages are plain navigations that cannot carry the Bearer header: get its session cookie.
  if (getKey()) apiFetch('/dashboard/api/session', { method: 'POST' }).catch(() => {});
}

function askForKey(message) {
  stream?.close();
  stream = null;
  clearInterval(usageTimer);
  forgetKey();
  view.board.hidden = true;
  view.keyForm.hidden = false;
  view.forget.hidden = true;
  showProblem(message ?? '');
  view.keyInput.focus();
}

view.keyForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const key = view.keyInput.value.trim();
  if (!key) return;
  setKey(key);
  view.keyInput.value = '';
  showProblem('');
  connect();
});

view.forget.addEventListener('click', async () => {
  await apiFetch('/dashboard/api/session', { method: 'DELETE' }).catch(() => {});
  askForKey();
});

view.refresh.addEventListener('click', async () => {
  view.refresh.disabled = true;
  view.refresh.textContent = 'Refreshing…';
  try {
    applySnapshot(await apiJson('/dashboard/api/snapshot?force_refresh=true'));
  } catch (err) {
    if (err instanceof Unauthorized) askForKey(err.message);
    else showProblem(`Refresh failed: ${err.message}`);
  } finally {
    view.refresh.disabled = false;
    view.refresh.textContent = 'Force refresh';
  }
});

if (authRequired() && !getKey()) askForKey();
else connect();
