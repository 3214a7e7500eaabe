/* Switchboard web chat client.
 * Every piece of server or user text is written with textContent, never as HTML. */
'use strict';

// This file loads synchronously in <head> so the embed layout applies before the first paint.
const EMBED = new URLSearchParams(location.search).get('embed') === '1';
if (EMBED) document.documentElement.classList.add('embed');

const STORAGE_KEY = 'switchboard.conversation';
const PING_INTERVAL_MS = 25000;
const SOCKET_WAIT_MS = 2000;
const MAX_BACKOFF_MS = 10000;
const MAX_SERVER_RETRIES = 5;
const SUBTITLES = {
  bot: 'We usually reply right away',
  waiting: 'Waiting for a member of our team…',
  with_human: 'You are chatting with our support team',
  resolved: 'This conversation has been resolved',
};

const ui = {};                 // DOM references, filled in init()
const rendered = new Map();    // message id -> element, for de-duplication
const queue = [];              // outgoing messages, sent one at a time to keep their order

let widget = { name: 'Chat', greeting: '', max_chars: 4000 };
let conv = null;               // { conversation_id, token }
let creating = null;           // in-flight conversation creation, shared by concurrent sends
let highestId = 0;
let convState = 'bot';
let stateChanges = 0;   // counts setState calls, so a slow history read cannot undo a newer state
let sending = false;
let awaitingReply = false;
let botTyping = false;
let ws = null;
let socketSettled = Promise.resolve();   // the newest socket's handshake: opened or failed
let wsAttempt = 0;
let reconnectTimer = 0;
let pingTimer = 0;
let wakeRetry = null;          // cuts a send-retry pause short when the network comes back

/* ---------- utilities ---------- */

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// 401/404 on a conversation means it is gone or the token is stale.
const isGone = (err) => err instanceof ApiError && (err.status === 401 || err.status === 404);

const convPath = (c, suffix) => `/api/conversations/${encodeURIComponent(c.conversation_id)}${suffix}`;

async function api(path, { method = 'GET', body, auth } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (auth) headers.Authorization = `Bearer ${auth.token}`;
  let res;
  try {
    res = await fetch(path, {
      method, headers, cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network', "Couldn't reach the server.");
  }
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const e = (data && data.error) || {};
    throw new ApiError(res.status, e.code || `http_${res.status}`,
      e.message || `Something went wrong (${res.status}).`);
  }
  return data || {};
}

// crypto.randomUUID only exists in secure contexts; plain-http deployments still need ids.
function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function backoff(attempt) {
  const base = Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempt);
  return base / 2 + Math.random() * (base / 2);   // jitter so clients don't reconnect in lockstep
}

function pause(ms) {
  return new Promise((resolve) => {
    const done = () => { clearTimeout(timer); wakeRetry = null; resolve(); };
    const timer = setTimeout(done, ms);
    wakeRetry = done;
  });
}

/* ---------- stored conversation (storage may be blocked in third-party iframes) ---------- */

function loadConversation() {
  try {
    const c = JSON.parse(localStorage.getItem(STORAGE_KEY));
    if (c && typeof c.conversation_id === 'string' && typeof c.token === 'string') return c;
  } catch { /* unavailable or corrupt: behave as a new visitor */ }
  return null;
}

function saveConversation(c) {
  try { localStorage.setItem(STORAGE_KEY, JSON.stringify(c)); } catch { /* session-only */ }
}

function forgetConversation() {
  try { localStorage.removeItem(STORAGE_KEY); } catch { /* nothing stored */ }
}

/* ---------- rendering ---------- */

function buildMessage(role, text, author) {
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

function place(el, msg) {
  const id = Number(msg.id);
  el.dataset.id = String(id);
  const when = new Date(msg.created_at);
  if (!Number.isNaN(when.getTime())) el.title = when.toLocaleString();
  insertOrdered(el, id);
  rendered.set(id, el);
  highestId = Math.max(highestId, id);
  scrollToBottom();
}

function addMessage(msg) {
  const id = Number(msg && msg.id);
  if (!Number.isFinite(id) || rendered.has(id)) return;
  const role = ['customer', 'bot', 'staff', 'system'].includes(msg.role) ? msg.role : 'bot';
  if (role === 'customer') {
    // The socket can echo our own message before the POST returns: adopt the pending bubble.
    const item = queue.find((q) => q.inFlight && q.id === undefined && (
      msg.client_message_id ? msg.client_message_id === q.clientId : msg.text === q.text));
    if (item) { confirmPending(item, msg); return; }
  } else {
    setBotTyping(false);
    dropDraft();   // the stored reply replaces what streamed in
  }
  place(buildMessage(role, String(msg.text ?? ''), msg.author), msg);
}

// The bot's answer as it is being written; the stored message replaces it when the turn ends.
let draft = null;

function streamDelta(text) {
  if (!draft) {
    setBotTyping(false);
    draft = buildMessage('bot', '');
    draft.classList.add('msg-draft');
    ui.messages.append(draft);
  }
  draft.querySelector('.msg-text').textContent += text;
  scrollToBottom();
}

function dropDraft() {
  if (draft) { draft.remove(); draft = null; }
}

function confirmPending(item, msg) {
  const id = Number(msg.id);
  if (item.id !== undefined) {
    if (item.id !== id) addMessage(msg);   // an earlier adoption was a look-alike; show the real one too
    return;
  }
  item.id = id;
  if (rendered.has(id)) { item.el.remove(); return; }
  item.el.classList.remove('msg-pending');
  item.el.querySelector('.msg-text').textContent = String(msg.text ?? item.text);
  item.el.remove();
  place(item.el, msg);
}

function showGreeting() {
  if (!widget.greeting || ui.messages.querySelector('.msg-greeting')) return;
  const el = buildMessage('bot', widget.greeting);
  el.classList.add('msg-greeting');
  ui.messages.prepend(el);
}

function scrollToBottom() {
  requestAnimationFrame(() => { ui.scroller.scrollTop = ui.scroller.scrollHeight; });
}

/* ---------- status, state, typing, errors ---------- */

function setState(state) {
  if (typeof state !== 'string' || !state) return;
  stateChanges += 1;
  convState = state;
  document.body.dataset.state = state;
  ui.subtitle.textContent = SUBTITLES[state] || '';
  updateTyping();
}

function setConnected(on) {
  document.body.dataset.connected = String(on);
  ui.status.hidden = on || !conv;   // nothing to reconnect to before the first message
}

function setBotTyping(on) { botTyping = on; updateTyping(); }

function updateTyping() {
  // With a human on the line the bot stays quiet, so don't promise a reply is being typed.
  const on = botTyping || (awaitingReply && convState !== 'with_human');
  if (ui.typing.hidden === !on) return;
  ui.typing.hidden = !on;
  if (on) scrollToBottom();
}

function showError(text) { ui.error.textContent = text; ui.error.hidden = false; }
function clearError() { ui.error.hidden = true; ui.error.textContent = ''; }

/* ---------- conversation lifecycle ---------- */

function ensureConversation() {
  if (conv) return Promise.resolve(conv);
  if (!creating) {
    creating = api('/api/conversations', { method: 'POST' })
      .then((d) => {
        conv = { conversation_id: String(d.conversation_id), token: String(d.token) };
        const created = conv;
        saveConversation(created);
        connect();
        // The first message waits for the live socket (a moment, at most), so the first words
        // of a streamed answer are not published before anyone listens. Not `pause`: that is
        // the send-retry pause, which the 'online' event cuts short.
        let timer;
        const waited = new Promise((resolve) => { timer = setTimeout(resolve, SOCKET_WAIT_MS); });
        // `created`, not `conv`: if the conversation was reset meanwhile, the send finds it
        // gone and starts over the usual way.
        return Promise.race([socketSettled, waited]).then(() => { clearTimeout(timer); return created; });
      })
      .finally(() => { creating = null; });
  }
  return creating;
}

// Start over silently: the stored conversation no longer exists on the server.
function resetConversation() {
  forgetConversation();
  conv = null;
  disconnect();
  rendered.clear();
  highestId = 0;
  ui.messages.querySelectorAll('.msg:not(.msg-pending):not(.msg-failed):not(.msg-greeting)')
    .forEach((el) => el.remove());
  setBotTyping(false);
  setState('bot');
  setConnected(false);
  showGreeting();
}

// Fetch whatever arrived after the newest message we have (fills gaps after a disconnect).
async function sync() {
  const c = conv;
  if (!c) return;
  const query = highestId ? `?after=${highestId}` : '';
  const changes = stateChanges;
  try {
    const data = await api(convPath(c, `/messages${query}`), { auth: c });
    if (conv !== c) return;
    (data.messages || []).forEach(addMessage);
    // An escalation answered (or announced on the socket) while this read was under way is
    // newer than the state it read.
    if (stateChanges === changes) setState(data.state);
  } catch (err) {
    if (isGone(err) && conv === c) resetConversation();
  }
}

/* ---------- live connection ---------- */

function connect() {
  if (!conv || ws) return;
  clearTimeout(reconnectTimer);
  const c = conv;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const sock = new WebSocket(
    `${scheme}//${location.host}${convPath(c, '/ws')}?token=${encodeURIComponent(c.token)}`);
  let opened = false;
  let settle;
  socketSettled = new Promise((resolve) => { settle = resolve; });
  ws = sock;

  sock.onopen = () => {
    opened = true;
    settle();
    wsAttempt = 0;
    setConnected(true);
    clearInterval(pingTimer);
    pingTimer = setInterval(() => {
      if (sock.readyState === WebSocket.OPEN) sock.send(JSON.stringify({ type: 'ping' }));
    }, PING_INTERVAL_MS);
    sync();
  };
  sock.onmessage = (e) => {
    let ev;
    try { ev = JSON.parse(e.data); } catch { return; }
    if (!ev || typeof ev !== 'object') return;
    if (ev.type === 'message') addMessage(ev.message);
    else if (ev.type === 'typing') setBotTyping(Boolean(ev.active));
    else if (ev.type === 'state') setState(ev.state);
    else if (ev.type === 'delta') streamDelta(String(ev.text ?? ''));
    else if (ev.type === 'delta_reset') dropDraft();   // that model broke off; another answers
  };
  sock.onclose = () => {
    settle();
    if (ws !== sock) return;              // closed on purpose by disconnect()
    ws = null;
    clearInterval(pingTimer);
    setBotTyping(false);
    dropDraft();                          // the complete reply comes back with the history
    setConnected(false);
    // A handshake that never opened may be a rejected token; the REST check detects that.
    if (!opened) sync();
    reconnectTimer = setTimeout(connect, backoff(wsAttempt++));
  };
  // 'error' is always followed by 'close', which does the work.
}

function disconnect() {
  clearTimeout(reconnectTimer);
  clearInterval(pingTimer);
  const sock = ws;
  ws = null;
  if (sock) sock.close();
}

function reconnectNow() {
  if (!conv || ws) return;
  wsAttempt = 0;
  connect();
}

/* ---------- sending ---------- */

function submit() {
  const text = ui.input.value.trim();
  if (!text || text.length > widget.max_chars) return;
  const item = { text, clientId: uuid(), el: buildMessage('customer', text) };
  item.el.classList.add('msg-pending');
  ui.messages.append(item.el);
  queue.push(item);
  ui.input.value = '';
  updateComposer();
  clearError();
  scrollToBottom();
  pump();
}

async function pump() {
  if (sending) return;
  sending = true;
  while (queue.length) {
    await deliver(queue[0]);
    queue.shift();
  }
  sending = false;
}

async function deliver(item) {
  let failures = 0;
  let restarted = false;
  for (;;) {
    let c = null;
    try {
      c = await ensureConversation();
      item.inFlight = true;
      awaitingReply = true;
      updateTyping();
      const data = await api(convPath(c, '/messages'), {
        method: 'POST', auth: c,
        body: { text: item.text, client_message_id: item.clientId },   // same id on every retry
      });
      clearError();
      if (data.message) confirmPending(item, data.message);
      else item.el.classList.remove('msg-pending');
      handleReply(data.reply);
      return;
    } catch (err) {
      if (c && isGone(err) && !restarted) {
        restarted = true;
        resetConversation();
        continue;
      }
      const network = err instanceof ApiError && err.status === 0;
      const server = err instanceof ApiError && err.status >= 500;
      if (network || (server && failures < MAX_SERVER_RETRIES)) {
        showError(network ? "Couldn't send — retrying" : `${err.message.replace(/\.$/, '')} — retrying`);
        await pause(backoff(failures++));
        continue;
      }
      if (!(err instanceof ApiError)) console.error(err);
      markFailed(item, err instanceof ApiError ? err.message : "Couldn't send your message.");
      return;
    } finally {
      item.inFlight = false;
      awaitingReply = false;
      updateTyping();
    }
  }
}

function handleReply(reply) {
  if (!reply) return;
  if (reply.message) addMessage(reply.message);
  // Every notice the customer sees is one the server stored, so a reload shows the same page.
  if (reply.escalated && convState !== 'with_human') setState('waiting');
}

function markFailed(item, message) {
  showError(message);
  item.el.classList.replace('msg-pending', 'msg-failed');
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
    item.el.classList.replace('msg-failed', 'msg-pending');
    item.el.remove();
    ui.messages.append(item.el);
    clearError();
    queue.push(item);
    pump();
  });
  note.append(label, retry);
  item.el.append(note);
}

/* ---------- composer ---------- */

function updateComposer() {
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

function applyWidget(data) {
  if (data) {
    const max = Number(data.max_chars);
    widget = {
      name: typeof data.name === 'string' && data.name ? data.name : widget.name,
      greeting: typeof data.greeting === 'string' ? data.greeting : '',
      max_chars: Number.isFinite(max) && max > 0 ? max : widget.max_chars,
    };
  }
  ui.name.textContent = widget.name;
  ui.avatar.textContent = widget.name.trim().charAt(0).toUpperCase() || '?';
  ui.typingLabel.textContent = `${widget.name} is typing…`;
  ui.input.maxLength = widget.max_chars;
  document.title = widget.name;
  updateComposer();
}

/* ---------- start-up ---------- */

async function init() {
  for (const id of ['messages', 'scroller', 'input', 'send', 'typing', 'status', 'error',
    'counter', 'subtitle', 'avatar', 'close']) ui[id] = document.getElementById(id);
  ui.name = document.getElementById('bot-name');
  ui.typingLabel = document.getElementById('typing-label');

  ui.input.addEventListener('input', () => {
    updateComposer();
    if (!queue.length) clearError();
  });
  ui.input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      if (!ui.send.disabled) submit();
    }
  });
  document.getElementById('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    submit();
  });

  // Stay pinned to the newest message when the view resizes (mobile keyboard, rotation, embed panel).
  let pinned = true;
  ui.scroller.addEventListener('scroll', () => {
    const s = ui.scroller;
    pinned = s.scrollHeight - s.scrollTop - s.clientHeight < 40;
  }, { passive: true });
  new ResizeObserver(() => { if (pinned) ui.scroller.scrollTop = ui.scroller.scrollHeight; })
    .observe(ui.scroller);

  window.addEventListener('online', () => { reconnectNow(); if (wakeRetry) wakeRetry(); });
  document.addEventListener('visibilitychange', () => { if (!document.hidden) reconnectNow(); });

  if (EMBED && window.parent !== window) {
    // The host page owns the panel; ask it to close (see embed.js).
    const close = () => window.parent.postMessage({ type: 'switchboard:close' }, '*');
    ui.close.hidden = false;
    ui.close.addEventListener('click', close);
    document.addEventListener('keydown', (e) => { if (e.key === 'Escape') close(); });
    window.addEventListener('message', (e) => {
      if (e.source === window.parent && e.data && e.data.type === 'switchboard:focus') ui.input.focus();
    });
  } else if (matchMedia('(pointer: fine)').matches) {
    ui.input.focus();   // avoid popping the on-screen keyboard on touch devices
  }

  const widgetReq = api('/api/widget').catch(() => null);
  const c = conv = loadConversation();
  const changes = stateChanges;
  const historyReq = c
    ? api(convPath(c, '/messages'), { auth: c }).then((data) => ({ data }), (err) => ({ err }))
    : null;

  applyWidget(await widgetReq);
  if (!c) { showGreeting(); return; }   // nothing is created until the first send

  const { data, err } = await historyReq;
  if (conv !== c) return;               // a send already replaced the conversation
  if (isGone(err)) { resetConversation(); return; }
  if (data) {
    (data.messages || []).forEach(addMessage);
    if (stateChanges === changes) setState(data.state);
  }
  connect();                            // a failed history load is retried by the socket's sync
}

document.addEventListener('DOMContentLoaded', init);
