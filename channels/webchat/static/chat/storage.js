/* Switchboard web chat: the visitor's conversation, remembered in localStorage.
 * Storage may be blocked (third-party iframes, private modes): then the chat lasts the session. */

const STORAGE_KEY = 'switchboard.conversation';

export function loadConversation() {
  try {
    const c = JSON.parse(localStorage.getItem(STORAGE_KEY));
    if (c && typeof c.conversation_id === 'string' && typeof c.token === 'string') return c;
  } catch { /* unavailable or corrupt: behave as a new visitor */ }
  return null;
}

export function saveConversation(c) {
  try { localStorage.setItem(STORAGE_KEY, JSON.stringify(c)); } catch { /* session-only */ }
}

export function forgetConversation() {
  try { localStorage.removeItem(STORAGE_KEY); } catch { /* nothing stored */ }
}
