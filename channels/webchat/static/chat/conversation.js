/* Switchboard web chat: the visitor's conversation — restored from storage, created on the first
 * send, forgotten when the server no longer knows it, and kept in step with the server's history. */

import { api, isGone, paths } from './api.js';
import {
  buildMessage, clearTranscript, currentState, dropDraft, highestId, isRendered, messageRole, placeMessage,
  setBotTyping, setConnected, setState, showGreeting, showSources, stateChanges,
} from './render.js';
import { forgetConversation, loadConversation, saveConversation } from './storage.js';

/* `socket` supplies connect() and disconnect(); `adoptPending(msg)` gives the visitor's own
 * message to the bubble still waiting for it, true if one took it. */
export function createConversation({ socket, adoptPending }) {
  const session = {
    current: null,    // { conversation_id, token }
    creating: null,   // in-flight conversation creation, shared by concurrent sends
  };

  // Show a message the server stored, once, with the sources it cites. The answer comes over the
  // socket, in the send's response and in the history (each with its sources): whichever is first shows it.
  function receive(msg, sources) {
    const id = Number(msg && msg.id);
    if (!Number.isFinite(id)) return;
    const role = messageRole(msg);
    if (isRendered(id)) {
      if (role === 'bot') showSources(id, sources);
      return;
    }
    if (role === 'customer') {
      if (adoptPending(msg)) return;
    } else {
      setBotTyping(false);
      dropDraft();   // the stored reply replaces what streamed in
    }
    placeMessage(buildMessage(role, String(msg.text ?? ''), msg.author), msg);
    if (role === 'bot') showSources(id, sources);
  }

  function handleReply(reply) {
    if (!reply) return;
    if (reply.message) receive(reply.message, reply.sources);
    // Every notice the customer sees is one the server stored, so a reload shows the same page.
    if (reply.escalated && currentState() !== 'with_human') setState('waiting');
  }

  // Resolves to { conversation, created }: `created` when this call started it (and its socket).
  function ensure() {
    if (session.current) return Promise.resolve({ conversation: session.current, created: false });
    if (!session.creating) {
      session.creating = api(paths.conversations, { method: 'POST' })
        .then((d) => {
          const created = { conversation_id: String(d.conversation_id), token: String(d.token) };
          session.current = created;
          saveConversation(created);
          socket.connect();
          return { conversation: created, created: true };
        })
        .finally(() => { session.creating = null; });
    }
    return session.creating;
  }

  // Start over silently: the stored conversation no longer exists on the server.
  function reset() {
    forgetConversation();
    session.current = null;
    socket.disconnect();
    clearTranscript();
    setBotTyping(false);
    setState('bot');
    setConnected(false, false);
    showGreeting();
  }

  // Fetch whatever arrived after the newest message we have (fills gaps after a disconnect).
  async function sync() {
    const c = session.current;
    if (!c) return;
    const changes = stateChanges();
    try {
      const data = await api(paths.messages(c, highestId()), { auth: c });
      if (session.current !== c) return;
      (data.messages || []).forEach((m) => receive(m, m?.sources));
      // An escalation answered (or announced on the socket) while this read was under way is
      // newer than the state it read.
      if (stateChanges() === changes) setState(data.state);
    } catch (err) {
      if (isGone(err) && session.current === c) reset();
    }
  }

  // Show the stored conversation, if any, once `widgetShown` (the widget's name and greeting) settles.
  async function restore(widgetShown) {
    const c = session.current = loadConversation();
    const changes = stateChanges();
    const historyReq = c
      ? api(paths.messages(c), { auth: c }).then((data) => ({ data }), (err) => ({ err }))
      : null;

    await widgetShown;
    if (!c) { showGreeting(); return; }   // nothing is created until the first send

    const { data, err } = await historyReq;
    if (session.current !== c) return;    // a send already replaced the conversation
    if (isGone(err)) { reset(); return; }
    if (data) {
      (data.messages || []).forEach((m) => receive(m, m?.sources));
      if (stateChanges() === changes) setState(data.state);
    }
    socket.connect();                     // a failed history load is retried by the socket's sync
  }

  return { current: () => session.current, receive, handleReply, ensure, reset, sync, restore };
}
