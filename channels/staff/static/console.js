/* Switchboard staff console: sign in, watch the queue live, take over conversations.
 * Everything a customer wrote is set with textContent, never parsed as HTML. */
'use strict';

const $ = (id) => document.getElementById(id);
const ui = {};
let csrf = '';
let me = null;
let current = null;        // the open conversation's detail, as the API returned it
let pendingReply = null;   // the reply being sent, with its id, until the server accepts it
let socket = null;
let retryMs = 500;
const SESSION_ENDED = 4401;  // the server closed the socket because the sign-in ended
let queueTimer = null;

/* ---------- API ---------- */

class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

async function api(method, path, body) {
  const headers = { 'Accept': 'application/json' };
  if (method !== 'GET') headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, {
    method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = data.error || {};
    if (response.status === 401 && path !== '/api/staff/login') showLogin();
    throw new ApiError(response.status, error.code || 'error', error.message || `HTTP ${response.status}`);
  }
  return data;
}

function newId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/* ---------- views ---------- */

function show(view) {
  document.body.dataset.view = view;
  ui.loginView.hidden = view !== 'login';
  ui.consoleView.hidden = view !== 'console';
}

function showLogin() {
  closeSocket();
  me = null; csrf = ''; current = null;
  show('login');
  ui.username.focus();
}

function showError(el, message) {
  el.textContent = message || '';
  el.hidden = !message;
}

async function start(session) {
  me = session.staff;
  csrf = session.csrf_token;
  ui.me.textContent = `${me.display_name} (${me.role})`;
  show('console');
  connect();
  await Promise.all([loadCanned(), loadQueue()]);
}

/* ---------- queue ---------- */

function waitText(seconds) {
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

function secondsSince(iso) {
  return Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
}

function queueItem(item) {
  const li = document.createElement('li');
  li.className = 'queue-item';
  li.tabIndex = 0;
  li.dataset.conversationId = item.conversation_id;
  li.dataset.state = item.state;
  if (current && current.conversation_id === item.conversation_id) li.classList.add('selected');

  const top = document.createElement('div');
  top.className = 'line';
  const state = document.createElement('span');
  state.className = `badge ${item.state}`;
  state.textContent = item.state === 'waiting' ? 'waiting' : `with ${item.claimed_by ? item.claimed_by.display_name : 'staff'}`;
  const wait = document.createElement('span');
  wait.className = 'wait';
  wait.dataset.since = item.escalated_at;
  wait.textContent = waitText(secondsSince(item.escalated_at));
  top.append(state, wait);

  const meta = document.createElement('div');
  meta.className = 'line muted';
  const reason = document.createElement('span');
  reason.className = 'reason';
  reason.textContent = item.reason.replace(/_/g, ' ');
  const channel = document.createElement('span');
  channel.className = 'channel';
  channel.textContent = item.channel;
  meta.append(reason, channel);

  const preview = document.createElement('div');
  preview.className = 'preview';
  preview.textContent = item.last_customer_text || '';

  li.append(top, meta, preview);
  const open = () => openConversation(item.conversation_id);
  li.addEventListener('click', open);
  li.addEventListener('keydown', (e) => { if (e.key === 'Enter') open(); });
  return li;
}

async function loadQueue() {
  let data;
  try { data = await api('GET', '/api/staff/queue'); } catch { return; }
  const items = data.conversations;
  ui.queueList.replaceChildren(...items.map(queueItem));
  ui.queueCount.textContent = String(items.length);
  ui.queueEmpty.hidden = items.length > 0;
}

function scheduleQueue() {
  // Several events often arrive together (a message, then a state change): load once.
  clearTimeout(queueTimer);
  queueTimer = setTimeout(loadQueue, 100);
}

function tick() {
  for (const el of ui.queueList.querySelectorAll('.wait')) el.textContent = waitText(secondsSince(el.dataset.since));
}

/* ---------- conversation ---------- */

function messageEl(msg) {
  const role = ['customer', 'bot', 'staff', 'system'].includes(msg.role) ? msg.role : 'system';
  const el = document.createElement('div');
  el.className = `msg msg-${role}`;
  el.dataset.id = String(msg.id);
  const who = document.createElement('span');
  who.className = 'who';
  who.textContent = role === 'staff' ? `${msg.author || 'Staff'} (staff)` : role;
  const text = document.createElement('div');
  text.className = 'msg-text';
  text.textContent = String(msg.text ?? '');
  el.append(who, text);
  return el;
}

// Whether the pane follows the newest message. It is decided by the reader's scrolling, not
// measured when a message arrives: the reply box appearing shrinks the pane, which would
// otherwise read as "scrolled up".
let pinned = true;
let paneHeight = 0;   // the pane's height when `pinned` was last decided

function scrollToNewest() {
  pinned = true;
  ui.messages.scrollTop = ui.messages.scrollHeight;
}

function addMessage(msg) {
  if (ui.messages.querySelector(`[data-id="${Number(msg.id)}"]`)) return;  // already shown
  ui.messages.append(messageEl(msg));
  if (pinned) scrollToNewest();
}

function noteEl(note) {
  const li = document.createElement('li');
  li.dataset.id = String(note.id);
  const who = document.createElement('div');
  who.className = 'who';
  who.textContent = `${note.author} · ${new Date(note.created_at).toLocaleTimeString()}`;
  const text = document.createElement('div');
  text.textContent = note.text;
  li.append(who, text);
  return li;
}

function addNote(note) {
  if (ui.notes.querySelector(`[data-id="${Number(note.id)}"]`)) return;
  ui.notes.append(noteEl(note));
}

function routeEl(step) {
  const li = document.createElement('li');
  const parts = [step.outcome, step.route, step.intent, step.tier, step.model].filter(Boolean);
  li.textContent = parts.join(' · ');
  // The knowledge passages the answer cited, so staff can see what the bot answered from.
  for (const source of step.sources || []) {
    const cite = document.createElement('div');
    cite.className = 'route-source';
    cite.textContent = `↳ ${source.title}${source.section ? ' › ' + source.section : ''} (${source.source})`;
    li.append(cite);
  }
  // The tools the models called: what they looked up or changed, and how it went.
  for (const call of step.tool_calls || []) {
    const tool = document.createElement('div');
    tool.className = 'route-tool';
    const args = Object.entries(call.arguments || {}).map(([k, v]) => `${k}=${v}`).join(', ');
    const how = [call.outcome, call.confirmation, `${Math.round(call.latency_ms)} ms`].filter(Boolean).join(', ');
    tool.textContent = `⚙ ${call.tool}(${args}) → ${how}${call.error ? ': ' + call.error : ''}`;
    li.append(tool);
  }
  return li;
}

function renderActions() {
  const state = current.state;
  const holder = current.escalation && current.escalation.status === 'claimed' ? current.escalation.claimed_by : null;
  const mine = state === 'with_human' && holder && holder.id === me.id;
  ui.claim.hidden = state !== 'waiting';
  ui.close.hidden = state !== 'waiting';
  ui.takeOver.hidden = !(me.role === 'admin' && state === 'with_human' && holder && holder.id !== me.id);
  ui.resolve.hidden = !mine;
  ui.handBack.hidden = !mine;
  ui.reopen.hidden = !(state === 'resolved' || (state === 'bot' && current.escalation));
  ui.replyForm.hidden = !mine;
  ui.convState.textContent = state === 'with_human' && holder ? `with ${holder.display_name}` : state;
  ui.convState.className = `badge ${state}`;
  document.body.dataset.convState = state;
}

function render(detail) {
  const sameConversation = current && current.conversation_id === detail.conversation_id;
  current = detail;
  ui.noConversation.hidden = true;
  ui.conversationBody.hidden = false;
  ui.side.hidden = false;
  ui.convTitle.textContent = `${detail.channel} conversation ${detail.conversation_id.slice(0, 8)}`;
  const escalation = detail.escalation;
  ui.convReason.textContent = escalation
    ? `${escalation.reason.replace(/_/g, ' ')}${escalation.detail ? ` (${escalation.detail})` : ''}`
    : '';
  ui.convSummary.textContent = detail.summary || '';
  ui.convSummary.dataset.source = detail.summary_source || 'extractive';
  ui.convSummary.title = detail.summary_source === 'model'
    ? 'Written by a model from the transcript: check it against the messages'
    : 'Built from the stored conversation';
  if (!sameConversation) {
    ui.messages.replaceChildren();
    ui.notes.replaceChildren();
  }
  detail.messages.forEach(addMessage);
  detail.notes.forEach(addNote);
  ui.routes.replaceChildren(...detail.routes.map(routeEl));
  renderActions();
  if (!sameConversation) scrollToNewest();
  for (const li of ui.queueList.children) {
    li.classList.toggle('selected', li.dataset.conversationId === detail.conversation_id);
  }
}

async function openConversation(conversationId) {
  showError(ui.actionError, '');
  try {
    render(await api('GET', `/api/staff/conversations/${encodeURIComponent(conversationId)}`));
  } catch (error) {
    showError(ui.actionError, error.message);
  }
}

async function refreshCurrent() {
  if (current) await openConversation(current.conversation_id);
}

async function act(action, body) {
  if (!current) return null;
  showError(ui.actionError, '');
  const id = encodeURIComponent(current.conversation_id);
  try {
    return await api('POST', `/api/staff/conversations/${id}/${action}`, body ?? {});
  } catch (error) {
    showError(ui.actionError, error.message);
    if (error.status === 409 || error.status === 403) refreshCurrent();  // someone else moved first
    return null;
  } finally {
    if (action !== 'notes' && action !== 'reply') { refreshCurrent(); loadQueue(); }
  }
}

/* ---------- canned responses ---------- */

async function loadCanned() {
  let data;
  try { data = await api('GET', '/api/staff/canned'); } catch { return; }
  const options = data.canned_responses.map((c) => {
    const option = document.createElement('option');
    option.value = c.text;
    option.textContent = c.title;
    return option;
  });
  ui.canned.replaceChildren(ui.canned.options[0], ...options);
}

/* ---------- live events ---------- */

function onEvent(event) {
  const forCurrent = current && event.conversation_id === current.conversation_id;
  if (event.type === 'escalation' || event.type === 'queue') {
    scheduleQueue();
    if (forCurrent) refreshCurrent();
  } else if (event.type === 'message') {
    scheduleQueue();
    if (forCurrent) addMessage(event.message);
  } else if (event.type === 'note') {
    if (forCurrent) addNote(event.note);
  }
}

function connect() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WebSocket(`${scheme}://${location.host}/api/staff/ws`);
  socket = ws;
  ws.onopen = () => {
    retryMs = 500;
    document.body.dataset.connected = 'true';
    ui.connection.textContent = 'Live';
    // Whatever happened while we were away.
    loadQueue();
    refreshCurrent();
  };
  ws.onmessage = (frame) => {
    try { onEvent(JSON.parse(frame.data)); } catch (error) { console.error(error); }
  };
  ws.onclose = (event) => {
    if (socket !== ws) return;  // closed on purpose
    if (event.code === SESSION_ENDED) { showLogin(); return; }
    document.body.dataset.connected = 'false';
    ui.connection.textContent = 'Reconnecting…';
    setTimeout(() => { if (me && socket === ws) connect(); }, retryMs);
    retryMs = Math.min(retryMs * 2, 10000);
  };
}

function closeSocket() {
  const ws = socket;
  socket = null;
  if (ws) ws.close();
  document.body.dataset.connected = 'false';
}

/* ---------- wiring ---------- */

function bind() {
  const ids = {
    loginView: 'login-view', consoleView: 'console-view', loginForm: 'login-form', username: 'username',
    password: 'password', loginError: 'login-error', me: 'me', logout: 'logout', connection: 'connection',
    queueList: 'queue-list', queueCount: 'queue-count', queueEmpty: 'queue-empty',
    noConversation: 'no-conversation', conversationBody: 'conversation-body', side: 'side',
    convTitle: 'conv-title', convState: 'conv-state', convReason: 'conv-reason', convSummary: 'conv-summary', claim: 'claim', close: 'close', takeOver: 'take-over',
    resolve: 'resolve', handBack: 'hand-back', reopen: 'reopen', actionError: 'action-error',
    messages: 'messages', replyForm: 'reply-form', canned: 'canned', replyInput: 'reply-input',
    notes: 'notes', noteForm: 'note-form', noteInput: 'note-input', routes: 'routes',
  };
  for (const [key, id] of Object.entries(ids)) ui[key] = $(id);

  ui.loginForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    showError(ui.loginError, '');
    try {
      const session = await api('POST', '/api/staff/login', { username: ui.username.value, password: ui.password.value });
      ui.password.value = '';
      await start(session);
    } catch (error) {
      showError(ui.loginError, error.message);
    }
  });
  ui.logout.addEventListener('click', async () => {
    try { await api('POST', '/api/staff/logout', {}); } catch { /* signed out either way */ }
    showLogin();
  });
  ui.claim.addEventListener('click', () => act('claim'));
  ui.close.addEventListener('click', () => act('close'));
  ui.takeOver.addEventListener('click', () => act('take-over'));
  ui.resolve.addEventListener('click', () => act('resolve'));
  ui.handBack.addEventListener('click', () => act('hand-back'));
  ui.reopen.addEventListener('click', () => act('reopen'));
  ui.canned.addEventListener('change', () => {
    if (ui.canned.value) ui.replyInput.value = ui.canned.value;
    ui.canned.selectedIndex = 0;
    ui.replyInput.focus();
  });
  ui.replyForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = ui.replyInput.value.trim();
    if (!text) return;
    // One id per reply, kept until it is accepted: sending again after a lost response reuses
    // it, so the customer gets the reply once.
    const conversationId = current && current.conversation_id;
    if (!pendingReply || pendingReply.text !== text || pendingReply.conversationId !== conversationId) {
      pendingReply = { conversationId, text, id: newId() };
    }
    const sent = await act('reply', { text, client_message_id: pendingReply.id });
    if (sent) { pendingReply = null; ui.replyInput.value = ''; addMessage(sent.message); scrollToNewest(); }
  });
  ui.replyInput.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); ui.replyForm.requestSubmit(); }
  });
  ui.noteForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = ui.noteInput.value.trim();
    if (!text) return;
    const added = await act('notes', { text });
    if (added) { ui.noteInput.value = ''; addNote(added.note); }
  });
  ui.messages.addEventListener('scroll', () => {
    const m = ui.messages;
    // A pane that just changed size scrolls by itself (before the resize callback runs): that
    // is not the reader moving away from the newest message.
    if (m.clientHeight !== paneHeight) return;
    pinned = m.scrollHeight - m.scrollTop - m.clientHeight < 40;
  }, { passive: true });
  // The pane changes size when the reply box or an error shows: keep the newest message in view.
  new ResizeObserver(() => {
    paneHeight = ui.messages.clientHeight;
    if (pinned) ui.messages.scrollTop = ui.messages.scrollHeight;
  }).observe(ui.messages);
  setInterval(tick, 1000);
}

document.addEventListener('DOMContentLoaded', async () => {
  bind();
  try {
    await start(await api('GET', '/api/staff/me'));
  } catch {
    showLogin();
  }
});
