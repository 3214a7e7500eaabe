/* Switchboard web chat: how long to wait before trying again. */

const MAX_BACKOFF_MS = 10000;

export function backoff(attempt) {
  const base = Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempt);
  return base / 2 + Math.random() * (base / 2);   // jitter so clients don't reconnect in lockstep
}
