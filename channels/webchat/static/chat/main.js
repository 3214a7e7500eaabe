/* Switchboard web chat client: wires the page's parts together and starts them.
 * Every piece of server or user text is written with textContent, never as HTML (see render.js). */

import { api, paths } from './api.js';
import { createConversation } from './conversation.js';
import {
  applyWidget, bindElements, clearError, dropDraft, keepPinnedToBottom, setBotTyping, setConnected, setState,
  streamDelta, takeComposerText, ui, updateComposer,
} from './render.js';
import { createSendQueue } from './send-queue.js';
import { createLiveSocket } from './socket.js';

// Set before the first paint by embed-layout.js, a classic script in <head>.
const EMBED = document.documentElement.classList.contains('embed');

// The three refer to each other only through these callbacks, which run after all three exist.
const socket = createLiveSocket({
  conversation: () => conversation.current(),
  onOpen() {
    setConnected(true, true);
    conversation.sync();
  },
  onEvent(ev) {
    if (ev.type === 'message') conversation.receive(ev.message, ev.sources);
    else if (ev.type === 'typing') setBotTyping(Boolean(ev.active));
    else if (ev.type === 'state') setState(ev.state);
    else if (ev.type === 'delta') streamDelta(String(ev.text ?? ''));
    else if (ev.type === 'delta_reset') dropDraft();   // that model broke off; another answers
  },
  onClose(opened) {
    setBotTyping(false);
    dropDraft();                          // the complete reply comes back with the history
    setConnected(false, conversation.current() !== null);
    // A handshake that never opened may be a rejected token; the REST check detects that.
    if (!opened) conversation.sync();
  },
});
const conversation = createConversation({ socket, adoptPending: (msg) => queue.adopt(msg) });
const queue = createSendQueue({ conversation, socket });

function submit() {
  const text = takeComposerText();
  if (text !== null) queue.send(text);
}

function start() {
  bindElements();

  ui.input.addEventListener('input', () => {
    updateComposer();
    if (queue.isEmpty()) clearError();
  });
  ui.input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      if (!ui.send.disabled) submit();
    }
  });
  ui.composer.addEventListener('submit', (e) => {
    e.preventDefault();
    submit();
  });
  keepPinnedToBottom();

  window.addEventListener('online', () => { socket.reconnectNow(); queue.wake(); });
  document.addEventListener('visibilitychange', () => { if (!document.hidden) socket.reconnectNow(); });

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

  const widgetShown = api(paths.widget).catch(() => null).then(applyWidget);
  conversation.restore(widgetShown);
}

document.addEventListener('DOMContentLoaded', start);
