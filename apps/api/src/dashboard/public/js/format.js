// Owns the page's small helpers: building DOM nodes without innerHTML (text is never parsed as
// markup) and formatting durations, ages and counts.

/** el('div', {className: 'x'}, 'text', childNode...) */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  for (const child of children) node.append(child);
  return node;
}

export function formatDuration(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${String(m % 60).padStart(2, '0')}m`;
}

export function formatAgo(ms) {
  if (ms < 1500) return 'just now';
  return `${formatDuration(ms)} ago`;
}

export function formatCount(n) {
  return Number(n ?? 0).toLocaleString('en-US');
}

export function formatTime(ms) {
  return new Date(ms).toLocaleTimeString([], { hour12: false });
}
