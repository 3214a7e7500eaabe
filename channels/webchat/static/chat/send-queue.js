/* Switchboard web chat: the send queue — the visitor's messages go out one at a time, in order,
 * retried through network and server failures, the first of a new conversation once its socket listens. */

import { ApiError, api, isGone, paths } from './api.js';
import { backoff } from './backoff.js';
import {
  appendPending, clearError, confirmPendingElement, isRendered, markFailed, setAwaitingReply, showError,
} from './render.js';

const SOCKET_WAIT_MS = 2000;
const MAX_SERVER_RETRIES = 5;

// crypto.randomUUID only exists in secure contexts; plain-http deployments still need ids.
function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/* `conversation` supplies ensure() (resolves to { conversation, created }), reset(),
 * receive(message) and handleReply(reply); `socket` supplies settled(). */
export function createSendQueue({ conversation, socket }) {
  const outbox = {
    items: [],          // { text, clientId, el, id?, inFlight? }, the first one being sent
    sending: false,
    wakeRetry: null,    // cuts a send-retry pause short when the network comes back
  };

  function send(text) {
    outbox.items.push({ text, clientId: uuid(), el: appendPending(text) });
    pump();
  }

  async function pump() {
    if (outbox.sending) return;
    outbox.sending = true;
    while (outbox.items.length) {
      await deliver(outbox.items[0]);
      outbox.items.shift();
    }
    outbox.sending = false;
  }

  function pause(ms) {
    return new Promise((resolve) => {
      const done = () => { clearTimeout(timer); outbox.wakeRetry = null; resolve(); };
      const timer = setTimeout(done, ms);
      outbox.wakeRetry = done;
    });
  }

  function wake() { if (outbox.wakeRetry) outbox.wakeRetry(); }

  // The first message waits for the live socket (a moment, at most), so the first words of a
  // streamed answer are not published before anyone listens. Not `pause`: that is the send-retry
  // pause, which the 'online' event cuts short.
  function socketListening() {
    let timer;
    const waited = new Promise((resolve) => { timer = setTimeout(resolve, SOCKET_WAIT_MS); });
    return Promise.race([socket.settled(), waited]).then(() => clearTimeout(timer));
  }

  async function deliver(item) {
    let failures = 0;
    let restarted = false;
    for (;;) {
      let c = null;
      try {
        const ensured = await conversation.ensure();
        if (ensured.created) await socketListening();
        // The conversation as created, even if it was reset meanwhile: then the send finds it
        // gone and starts over the usual way.
        c = ensured.conversation;
        item.inFlight = true;
        setAwaitingReply(true);
        const data = await api(paths.messages(c), {
          method: 'POST', auth: c,
          body: { text: item.text, client_message_id: item.clientId },   // same id on every retry
        });
        clearError();
        if (data.message) confirm(item, data.message);
        else item.el.classList.remove('msg-pending');
        conversation.handleReply(data.reply);
        return;
      } catch (err) {
        if (c && isGone(err) && !restarted) {
          restarted = true;
          conversation.reset();
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
        markFailed(item.el, err instanceof ApiError ? err.message : "Couldn't send your message.", () => {
          outbox.items.push(item);
          pump();
        });
        return;
      } finally {
        item.inFlight = false;
        setAwaitingReply(false);
      }
    }
  }

  // The stored message `msg` is this item's: its pending bubble becomes it.
  function confirm(item, msg) {
    const id = Number(msg.id);
    if (item.id !== undefined) {
      // An earlier adoption was a look-alike; show the real one too.
      if (item.id !== id) conversation.receive(msg);
      return;
    }
    item.id = id;
    if (isRendered(id)) { item.el.remove(); return; }
    confirmPendingElement(item.el, msg, item.text);
  }

  // The socket can echo our own message before the POST returns: adopt the pending bubble.
  function adopt(msg) {
    const item = outbox.items.find((q) => q.inFlight && q.id === undefined && (
      msg.client_message_id ? msg.client_message_id === q.clientId : msg.text === q.text));
    if (item) confirm(item, msg);
    return Boolean(item);
  }

  return { send, wake, adopt, isEmpty: () => outbox.items.length === 0 };
}
