/* Switchboard web chat: everything the page shows — messages, the bot's draft, state, typing,
 * errors and the composer.
 * Every piece of server or user text is written with textContent, never as HTML. */

const SUBTITLES = {
  bot: 'We usually reply right away',
  waiting: 'Waiting for a member of our team…',
  with_human: 'You are chatting with our support team',
  resolved: 'This conversation has been resolved',
};
const ROLES = ['customer', 'bot', 'staff', 'system'];

export const ui = {};   // DOM references, filled in bindElements()
const widget = { name: 'Chat', greeting: '', max_chars: 4000 };
const transcript = {
  rendered: new Map(),  // message id -> element, for de-duplication
  highestId: 0,
  draft: null,          // the bot's answer as it is being written; the stored message replaces it
};
const status = {
  state: 'bot',
  changes: 0,           // counts setState calls, so a slow history read cannot undo a newer state
  botTyping: false,
  awaitingReply: false,
};

export function bindElements() {
  for (const id of ['messages', 'scroller', 'input', 'send', 'typing', 'status', 'error',
    'counter', 'subtitle', 'avatar', 'close']) ui[id] = document.getElementById(id);
  ui.name = document.getElementById('bot-name');
  ui.typingLabel = document.getElementById('typing-label');
  ui.composer = document.getElementById('composer');
}

/* ---------- messages ---------- */

export const messageRole = (msg) => (ROLES.includes(msg.role) ? msg.role : 'bot');
export const isRendered = (id) => transcript.rendered.has(id);
export const highestId = () => transcript.highestId;

export function buildMessage(role, text, author) {
  const el = document.createElement('div');
  el.className = `msg msg-${role}`;
  if (role === 'staff') {
    const label = document.createElement('div');
    label.className = 'msg-author';
    label.textContent = author ? `${author} (staff)` : 'Support team';
    el.append(label);
  } else if (role !== 'system') {
    // Screen readers get the speaker; sighted users have the bubble side.
    const who = document.createElement('span');
    who.className = 'visually-hidden';
    who.textContent = role === 'customer' ? 'You: ' : `${widget.name}: `;
    el.append(who);
  }
  const body = document.createElement('div');
  body.className = 'msg-text';
  body.textContent = text;
  el.append(body);
  return el;
}

// The knowledge-base passages a bot answer cites, as a list under its text: a link where the
// source has a web address (http or https only, so a document cannot smuggle in a script URL),
// plain text otherwise. Added once per message, whichever delivery brings them first.
export function showSources(id, sources) {
  const el = transcript.rendered.get(Number(id));
  if (!el || !Array.isArray(sources) || el.querySelector('.msg-sources')) return;
  const list = document.createElement('ul');
  list.className = 'msg-sources';
  list.setAttribute('aria-label', 'Sources');
  const seen = new Set();
  for (const source of sources) {
    if (!source || typeof source !== 'object') continue;
    const title = typeof source.title === 'string' && source.title.trim() ? source.title.trim() : '';
    if (!title) continue;
    const href = webAddress(source.url);
    const key = `${title}\u0000${href}`;   // two passages of one document are one source
    if (seen.has(key)) continue;
    seen.add(key);
    const section = typeof source.section === 'string' ? source.section.trim() : '';
    const item = document.createElement('li');
    const label = document.createElement(href ? 'a' : 'span');
    label.className = 'msg-source';
    label.textContent = section ? `${title} › ${section}` : title;
    if (href) {
      label.setAttribute('href', href);
      label.setAttribute('target', '_blank');
      label.setAttribute('rel', 'noopener noreferrer');
    }
    item.append(label);
    list.append(item);
  }
  if (list.childElementCount) { el.append(list); scrollToBottom(); }
}

// `url` if it is an absolute http(s) address, '' otherwise.
function webAddress(url) {
  if (typeof url !== 'string' || !url) return '';
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : '';
  } catch {
    return '';
  }
}

// Insert by id. Pending bubbles always stay last; the greeting (no data-id) stays put.
function insertOrdered(el, id) {
  let before = null;
  for (let node = ui.messages.lastElementChild; node; node = node.previousElementSibling) {
    if (node.classList.contains('msg-pending') || node.classList.contains('msg-failed')
        || Number(node.dataset.id) > id) before = node;
    else break;
  }
  ui.messages.insertBefore(el, before);
}

// Show a stored message (`msg` as the server sent it) in its place among the others.
export function placeMessage(el, msg) {
  const id = Number(msg.id);
  el.dataset.id = String(id);
  const when = new Date(msg.created_at);
  if (!Number.isNaN(when.getTime())) el.title = when.toLocaleString();
  insertOrdered(el, id);
  transcript.rendered.set(id, el);
  transcript.highestId = Math.max(transcript.highestId, id);
  scrollToBottom();
}

// Remove every stored message (the conversation is gone); unsent ones and the greeting stay.
export function clearTranscript() {
  transcript.rendered.clear();
  transcript.highestId = 0;
  ui.messages.querySelectorAll('.msg:not(.msg-pending):not(.msg-failed):not(.msg-greeting)')
    .forEach((el) => el.remove());
}

export function streamDelta(text) {
  if (!transcript.draft) {
    setBotTyping(false);
    transcript.draft = buildMessage('bot', '');
    transcript.draft.classList.add('msg-draft');
    ui.messages.append(transcript.draft);
  }
  transcript.draft.querySelector('.msg-text').textContent += text;
  scrollToBottom();
}

export function dropDraft() {
  if (transcript.draft) { transcript.draft.remove(); transcript.draft = null; }
}

export function showGreeting() {
  if (!widget.greeting || ui.messages.querySelector('.msg-greeting')) return;
  const el = buildMessage('bot', widget.greeting);
  el.classList.add('msg-greeting');
  ui.messages.prepend(el);
}

export function scrollToBottom() {
  requestAnimationFrame(() => { ui.scroller.scrollTop = ui.scroller.scrollHeight; });
}

// Stay pinned to the newest message when the view resizes (mobile keyboard, rotation, embed panel).
export function keepPinnedToBottom() {
  let pinned = true;
  ui.scroller.addEventListener('scroll', () => {
    const s = ui.scroller;
    pinned = s.scrollHeight - s.scrollTop - s.clientHeight < 40;
  }, { passive: true });
  new ResizeObserver(() => { if (pinned) ui.scroller.scrollTop = ui.scroller.scrollHeight; })
    .observe(ui.scroller);
}

/* ---------- the visitor's own messages ---------- */

export function appendPending(text) {
  const el = buildMessage('customer', text);
  el.classList.add('msg-pending');
  ui.messages.append(el);
  scrollToBottom();
  return el;
}

// A pending bubble becomes the stored message the server confirmed.
export function confirmPendingElement(el, msg, text) {
  el.classList.remove('msg-pending');
  el.querySelector('.msg-text').textContent = String(msg.text ?? text);
  el.remove();
  placeMessage(el, msg);
}

// `onRetry` runs after the bubble is pending again, at the end of the list.
export function markFailed(el, message, onRetry) {
  showError(message);
  el.classList.replace('msg-pending', 'msg-failed');
  const note = document.createElement('div');
  note.className = 'msg-failed-note';
  const label = document.createElement('span');
  label.textContent = 'Not sent';
  const retry = document.createElement('button');
  retry.type = 'button';
  retry.className = 'msg-retry';
  retry.textContent = 'Retry';
  retry.setAttribute('aria-label', 'Retry sending this message');
  retry.addEventListener('click', () => {
    note.remove();
    el.classList.replace('msg-failed', 'msg-pending');
    el.remove();
    ui.messages.append(el);
    clearError();
    onRetry();
  });
  note.append(label, retry);
  el.append(note);
}

/* ---------- status, state, typing, errors ---------- */

export const currentState = () => status.state;
export const stateChanges = () => status.changes;

export function setState(state) {
  if (typeof state !== 'string' || !state) return;
  status.changes += 1;
  status.state = state;
  document.body.dataset.state = state;
  ui.subtitle.textContent = SUBTITLES[state] || '';
  updateTyping();
}

// `hasConversation`: before the first message there is nothing to reconnect to.
export function setConnected(on, hasConversation) {
  document.body.dataset.connected = String(on);
  ui.status.hidden = on || !hasConversation;
}

export function setBotTyping(on) { status.botTyping = on; updateTyping(); }
export function setAwaitingReply(on) { status.awaitingReply = on; updateTyping(); }

function updateTyping() {
  // With a human on the line the bot stays quiet, so don't promise a reply is being typed.
  const on = status.botTyping || (status.awaitingReply && status.state !== 'with_human');
  if (ui.typing.hidden === !on) return;
  ui.typing.hidden = !on;
  if (on) scrollToBottom();
}

export function showError(text) { ui.error.textContent = text; ui.error.hidden = false; }
export function clearError() { ui.error.hidden = true; ui.error.textContent = ''; }

/* ---------- composer ---------- */

// The message to send, taken out of the composer; null when there is none or it is too long.
export function takeComposerText() {
  const text = ui.input.value.trim();
  if (!text || text.length > widget.max_chars) return null;
  ui.input.value = '';
  updateComposer();
  clearError();
  return text;
}

export function updateComposer() {
  const len = ui.input.value.length;
  const max = widget.max_chars;
  ui.send.disabled = !ui.input.value.trim() || len > max;
  const near = len >= Math.floor(max * 0.9);
  ui.counter.hidden = !near;
  ui.counter.textContent = near ? `${len} / ${max}` : '';
  ui.counter.classList.toggle('over', len >= max);
  // Grow with the content up to the CSS max-height (skipped while not rendered, e.g. a closed embed panel).
  ui.input.style.height = 'auto';
  const needed = ui.input.scrollHeight + 2;   // + top/bottom border
  if (ui.input.scrollHeight) ui.input.style.height = `${needed}px`;
  ui.input.style.overflowY = needed > parseFloat(getComputedStyle(ui.input).maxHeight) ? 'auto' : 'hidden';
}

// `data` is the server's widget description, or null when it could not be read.
export function applyWidget(data) {
  if (data) {
    const max = Number(data.max_chars);
    Object.assign(widget, {
      name: typeof data.name === 'string' && data.name ? data.name : widget.name,
      greeting: typeof data.greeting === 'string' ? data.greeting : '',
      max_chars: Number.isFinite(max) && max > 0 ? max : widget.max_chars,
    });
  }
  ui.name.textContent = widget.name;
  ui.avatar.textContent = widget.name.trim().charAt(0).toUpperCase() || '?';
  ui.typingLabel.textContent = `${widget.name} is typing…`;
  ui.input.maxLength = widget.max_chars;
  document.title = widget.name;
  updateComposer();
}
