/* Switchboard web chat: the JSON API client, its error type and the API's paths. */

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// 401/404 on a conversation means it is gone or the token is stale.
export const isGone = (err) => err instanceof ApiError && (err.status === 401 || err.status === 404);

const conversationPath = (c, suffix) => `/api/conversations/${encodeURIComponent(c.conversation_id)}${suffix}`;

export const paths = {
  widget: '/api/widget',
  conversations: '/api/conversations',
  messages: (c, after = 0) => conversationPath(c, `/messages${after ? `?after=${after}` : ''}`),
  socket: (c) => `${conversationPath(c, '/ws')}?token=${encodeURIComponent(c.token)}`,
};

// `auth` is a conversation ({ conversation_id, token }); its token goes in the Authorization header.
export async function api(path, { method = 'GET', body, auth } = {}) {
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
