/* Switchboard chat launcher for third-party pages:
 *   <script src="https://chat.example.com/static/embed.js" async></script>
 * Adds a round button (bottom-right) that opens the chat in an iframe panel. */
(function () {
  'use strict';

  // currentScript is only set while this file first runs, so capture it before anything async.
  var script = document.currentScript ||
    document.querySelector('script[src$="/static/embed.js"], script[src*="/static/embed.js?"]');
  if (!script || document.getElementById('switchboard-launcher')) return;   // missing or loaded twice

  var origin = new URL(script.src, location.href).origin;
  var openOnLoad = script.getAttribute('data-open') === 'true';
  var Z = 2147483000;

  // Icons are CSS background images rather than child SVG nodes, so host rules such as
  // `* { all: unset }` have nothing inside the button to restyle.
  var ICON_CHAT = '<path d="M21 12a8 8 0 0 1-11.6 7.1L4 20.5l1.4-4.9A8 8 0 1 1 21 12z"/>';
  var ICON_CLOSE = '<path d="M6 6l12 12M18 6L6 18"/>';
  function icon(paths) {
    var svg = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" stroke="#fff"' +
      ' stroke-width="2" stroke-linecap="round" stroke-linejoin="round">' + paths + '</svg>';
    return 'url("data:image/svg+xml,' + encodeURIComponent(svg) + '")';
  }

  // Id-scoped rules with !important so host-page styles can't reach in, and ours can't leak out.
  var css = [
    '#switchboard-style { display: none; }',   // in case the host un-hides <style> elements
    '#switchboard-launcher, #switchboard-panel, #switchboard-frame { all: initial; box-sizing: border-box; }',
    '#switchboard-launcher { position: fixed; right: 20px; bottom: 20px; z-index: ' + (Z + 1) + ';' +
      ' width: 56px; height: 56px; margin: 0; padding: 0; border: 0; border-radius: 50%;' +
      ' display: flex; align-items: center; justify-content: center; cursor: pointer;' +
      ' background-color: #2563eb; background-repeat: no-repeat; background-position: center;' +
      ' background-size: 26px 26px; box-shadow: 0 6px 20px rgba(15, 23, 42, 0.28);' +
      ' transition: transform 150ms ease, background-color 150ms ease; }',
    '#switchboard-launcher:hover { background-color: #1d4ed8; transform: scale(1.05); }',
    '#switchboard-launcher:focus-visible { outline: 3px solid #93c5fd; outline-offset: 3px; }',
    '#switchboard-launcher { background-image: ' + icon(ICON_CHAT) + '; }',
    '#switchboard-launcher.switchboard-open { background-image: ' + icon(ICON_CLOSE) + '; }',
    '#switchboard-panel { position: fixed; right: 20px; bottom: 88px; z-index: ' + Z + ';' +
      ' display: block; width: 370px; height: 560px;' +
      ' max-width: calc(100vw - 40px); max-height: calc(100vh - 108px);' +
      ' border-radius: 16px; overflow: hidden; background: #fff;' +
      ' box-shadow: 0 12px 40px rgba(15, 23, 42, 0.25);' +
      ' opacity: 0; transform: translateY(12px); transition: opacity 160ms ease, transform 160ms ease; }',
    '#switchboard-panel.switchboard-open { opacity: 1; transform: none; }',
    '#switchboard-panel[hidden] { display: none; }',
    '#switchboard-frame { display: block; width: 100%; height: 100%; border: 0; margin: 0; padding: 0; }',
    // Small screens: the panel takes the whole viewport and the in-frame close button replaces the launcher.
    '@media (max-width: 480px), (max-height: 600px) {' +
      ' #switchboard-panel { inset: 0; right: 0; bottom: 0; width: 100%; height: 100%;' +
      ' max-width: none; max-height: none; border-radius: 0; }' +
      ' #switchboard-launcher.switchboard-open { display: none; } }',
    '@media (prefers-reduced-motion: reduce) {' +
      ' #switchboard-launcher, #switchboard-panel { transition: none; } }'
  ].join('\n').replace(/;(?=\s*[}\s])/g, ' !important;');

  var launcher, panel, frame, frameLoaded = false;

  function isOpen() { return !!panel && !panel.hidden; }

  function focusChat() {
    // Cross-origin frame: ask the chat page to focus its own input.
    if (frameLoaded && frame.contentWindow) {
      frame.contentWindow.postMessage({ type: 'switchboard:focus' }, origin);
    }
  }

  function render(open) {
    panel.hidden = !open;
    launcher.setAttribute('aria-expanded', String(open));
    launcher.classList.toggle('switchboard-open', open);
    if (open) {
      // Next frame, so the entry transition starts from the hidden state.
      requestAnimationFrame(function () { panel.classList.add('switchboard-open'); });
      focusChat();
    } else {
      panel.classList.remove('switchboard-open');
    }
  }

  function open() { if (panel && !isOpen()) render(true); }
  function close() {
    if (!isOpen()) return;
    var hadFocus = panel.contains(document.activeElement);
    render(false);
    if (hadFocus) launcher.focus();
  }
  function toggle() { if (isOpen()) close(); else open(); }

  function mount() {
    var style = document.createElement('style');
    style.id = 'switchboard-style';
    style.textContent = css;

    panel = document.createElement('div');
    panel.id = 'switchboard-panel';
    panel.setAttribute('role', 'dialog');
    panel.setAttribute('aria-label', 'Chat');
    panel.hidden = true;

    frame = document.createElement('iframe');
    frame.id = 'switchboard-frame';
    frame.title = 'Chat';
    frame.src = origin + '/?embed=1';
    frame.setAttribute('allow', 'clipboard-write');
    frame.addEventListener('load', function () {
      frameLoaded = true;
      if (isOpen()) focusChat();
    });
    panel.appendChild(frame);

    launcher = document.createElement('button');
    launcher.id = 'switchboard-launcher';
    launcher.type = 'button';
    launcher.setAttribute('aria-label', 'Open chat');
    launcher.setAttribute('aria-controls', 'switchboard-panel');
    launcher.addEventListener('click', toggle);

    document.head.appendChild(style);
    document.body.appendChild(panel);
    document.body.appendChild(launcher);
    render(openOnLoad);
  }

  // Only trust close requests from our own frame.
  window.addEventListener('message', function (e) {
    if (!frame || e.source !== frame.contentWindow || e.origin !== origin) return;
    if (e.data && e.data.type === 'switchboard:close') close();
  });
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && isOpen()) close();
  });

  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount);

  window.Switchboard = { open: open, close: close, toggle: toggle };
})();
