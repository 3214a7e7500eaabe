/* Switchboard web chat: the live socket — connect, keep alive with pings, reconnect with backoff. */

import { paths } from './api.js';
import { backoff } from './backoff.js';

const PING_INTERVAL_MS = 25000;

/* `conversation()` is the current conversation (or null); `onEvent` gets each parsed event object;
 * `onOpen()` and `onClose(opened)` follow the connection, `opened` false for a handshake that failed. */
export function createLiveSocket({ conversation, onOpen, onEvent, onClose }) {
  const live = {
    ws: null,
    settled: Promise.resolve(),   // the newest socket's handshake: opened or failed
    attempt: 0,
    reconnectTimer: 0,
    pingTimer: 0,
  };

  function connect() {
    const c = conversation();
    if (!c || live.ws) return;
    clearTimeout(live.reconnectTimer);
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const sock = new WebSocket(`${scheme}//${location.host}${paths.socket(c)}`);
    let opened = false;
    let settle;
    live.settled = new Promise((resolve) => { settle = resolve; });
    live.ws = sock;

    sock.onopen = () => {
      opened = true;
      settle();
      live.attempt = 0;
      clearInterval(live.pingTimer);
      live.pingTimer = setInterval(() => {
        if (sock.readyState === WebSocket.OPEN) sock.send(JSON.stringify({ type: 'ping' }));
      }, PING_INTERVAL_MS);
      onOpen();
    };
    sock.onmessage = (e) => {
      let ev;
      try { ev = JSON.parse(e.data); } catch { return; }
      if (ev && typeof ev === 'object') onEvent(ev);
    };
    sock.onclose = () => {
      settle();
      if (live.ws !== sock) return;       // closed on purpose by disconnect()
      live.ws = null;
      clearInterval(live.pingTimer);
      onClose(opened);
      live.reconnectTimer = setTimeout(connect, backoff(live.attempt++));
    };
    // 'error' is always followed by 'close', which does the work.
  }

  function disconnect() {
    clearTimeout(live.reconnectTimer);
    clearInterval(live.pingTimer);
    const sock = live.ws;
    live.ws = null;
    if (sock) sock.close();
  }

  // Skip the backoff: the network is back or the page is visible again.
  function reconnectNow() {
    if (!conversation() || live.ws) return;
    live.attempt = 0;
    connect();
  }

  return { connect, disconnect, reconnectNow, settled: () => live.settled };
}
