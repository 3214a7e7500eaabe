/* Switchboard web chat: the embed layout, applied before the first paint.
 * A classic script loaded synchronously in <head>, because the chat's modules are deferred;
 * the modules read the class back to know they are embedded. */
'use strict';

if (new URLSearchParams(location.search).get('embed') === '1') {
  document.documentElement.classList.add('embed');
}
