/*! porch widget loader: <script src="https://HOST/widget.js" data-widget-id="ID" async></script> */
(function (w, d) {
  'use strict';
  var TAG = '[porch] ';
  var warn = function (msg) { try { w.console && console.warn(TAG + msg); } catch (e) { /* ignore */ } };
  var guard = function (fn) {
    return function () {
      try { return fn.apply(this, arguments); } catch (e) { warn('internal error: ' + (e && e.message)); }
    };
  };

  guard(function () {
    if (w.__porchLoader) return;
    w.__porchLoader = 1;

    // Find our own <script>: currentScript, else the widget.js tag that names a widget.
    var me = d.currentScript;
    if (!me || !me.getAttribute('data-widget-id')) {
      me = null;
      var all = d.getElementsByTagName('script');
      for (var i = all.length - 1; i >= 0; i--) {
        if (/\/widget\.js([?#].*)?$/.test(all[i].src || '') && all[i].getAttribute('data-widget-id')) {
          me = all[i];
          break;
        }
      }
    }
    if (!me) { warn('could not find the widget <script> tag with a data-widget-id attribute.'); return; }

    var attr = function (n) { return me.getAttribute('data-' + n); };
    var id = (attr('widget-id') || '').trim();
    var base = me.src.replace(/[?#].*$/, '').replace(/\/(js\/)?widget\.js$/, '');
    var porchOrigin = new URL(base, location.href).origin;
    var lang = (attr('locale') || d.documentElement.lang || navigator.language || 'en').slice(0, 20);
    var HEX = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;

    // The visitor's conversation lives in this site's own storage: browsers block or
    // partition storage in third-party frames, so the chat frame could not keep it itself.
    // Only the exact porch origin is ever handed the token (postMessage below).
    var KEY = 'porch:conversation:' + id;
    var recall = function () {
      try {
        var v = JSON.parse(w.localStorage.getItem(KEY) || 'null');
        return v && typeof v.conversation_id === 'string' && typeof v.visitor_token === 'string' ?
          { conversation_id: v.conversation_id, visitor_token: v.visitor_token } : null;
      } catch (e) { return null; }
    };
    var keep = function (v) {
      try {
        if (v && typeof v.conversation_id === 'string' && typeof v.visitor_token === 'string') {
          w.localStorage.setItem(KEY, JSON.stringify({
            conversation_id: v.conversation_id, visitor_token: v.visitor_token }));
        } else {
          w.localStorage.removeItem(KEY);
        }
      } catch (e) { /* this site's storage is off too: the conversation lasts the page */ }
    };

    // The JS API: calls made before this file ran sit in porch.q and are replayed once ready.
    var queue = (w.porch && w.porch.q) || [];
    var api = function () { queue.push(arguments); };
    api.q = queue;
    w.porch = api;

    var apiUrl = base + '/api/v1/widgets/' + encodeURIComponent(id) + '/public';
    if (!id || !w.fetch) { warn('widget not shown: no data-widget-id, or no fetch in this browser.'); return; }
    fetch(apiUrl, { credentials: 'omit', mode: 'cors' }).then(guard(function (res) {
      if (res.status === 403) {
        warn('widget ' + id + ' is not shown: porch refused this website (' + location.origin +
          ') with 403 origin_not_allowed: it is not in the widget\'s allowed origins. ' +
          'Add it in the porch dashboard.');
      } else if (res.status === 404 || res.status === 422) {
        warn('widget ' + id + ' is not shown: no widget with this id exists at ' + base + '.');
      } else if (!res.ok) {
        warn('widget ' + id + ' is not shown: ' + apiUrl + ' answered HTTP ' + res.status + '.');
      } else {
        return res.json().then(guard(mount), function () {
          warn('widget ' + id + ' is not shown: ' + apiUrl + ' did not answer JSON.');
        });
      }
    }), function (e) {
      // A refused origin reads nothing, not even the 403 (security/cors.py): the browser
      // reports a CORS error, which is what porch's refusal looks like from here.
      warn('widget ' + id + ' is not shown: the browser could not read ' + apiUrl + ' (' +
        (e && e.message) + '). If porch is up, it refused this website (' + location.origin +
        ') with 403 origin_not_allowed: add it to the widget\'s allowed origins in the ' +
        'porch dashboard.');
    });

    function mount(cfg) {
      var theme = cfg.theme || {};
      var color = HEX.test(attr('color') || '') ? attr('color') : (theme.primary_color || '#2563eb');
      var pos = attr('position') || cfg.position;
      var left = pos === 'bottom-left';
      var side = left ? 'left' : 'right';
      var isOpen = false;
      var full = false;
      var wantFull = false;
      var unread = 0;
      var frameReady = false;
      var pending = [];
      // A token in the tag (data-identity-token) identifies the visitor before any call.
      var user = attr('identity-token') ? { id: '', token: attr('identity-token') } : null;

      var css = function (el, props) {
        for (var k in props) el.style.setProperty(k, props[k], 'important');
        return el;
      };
      var el = function (tag, props, parent) {
        var n = d.createElement(tag);
        css(n, props);
        if (parent) parent.appendChild(n);
        return n;
      };
      var svg = function (path) {
        var ns = 'http://www.w3.org/2000/svg';
        var s = d.createElementNS(ns, 'svg');
        s.setAttribute('viewBox', '0 0 24 24');
        s.setAttribute('width', '26');
        s.setAttribute('height', '26');
        s.setAttribute('aria-hidden', 'true');
        s.setAttribute('focusable', 'false');
        var p = d.createElementNS(ns, 'path');
        p.setAttribute('d', path);
        p.setAttribute('fill', 'currentColor');
        s.appendChild(p);
        return s;
      };
      var ICON_CHAT = 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z';
      var ICON_CLOSE = 'M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12 19 17.6 17.6 19 12 13.4 6.4 19 5 17.6 10.6 12 5 6.4z';

      // Text on the launcher: white or near-black, whichever reads better on the colour.
      var rgb = color.length === 4 ? color.replace(/#(.)(.)(.)/, '#$1$1$2$2$3$3') : color;
      var lum = function (i) {
        var c = parseInt(rgb.substr(i, 2), 16) / 255;
        return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
      };
      var L = 0.2126 * lum(1) + 0.7152 * lum(3) + 0.0722 * lum(5);
      // Whichever contrasts more: white's ratio is 1.05/(L+.05), #111827's (L+.05)/.0594.
      var ink = 1.05 / (L + 0.05) >= (L + 0.05) / 0.0594 ? '#ffffff' : '#111827';

      // Hidden until the chat page says it is ready: a frame the browser refused shows nothing.
      var root = el('div', { all: 'initial', position: 'fixed', 'z-index': '2147483000', bottom: '0',
        display: 'none' });
      root.style.setProperty(side, '0', 'important');
      root.setAttribute('data-porch-root', '');

      var btn = el('button', {
        all: 'initial', position: 'fixed', bottom: '20px', width: '56px', height: '56px',
        'border-radius': '50%', background: color, color: ink, cursor: 'pointer',
        display: 'flex', 'align-items': 'center', 'justify-content': 'center',
        'box-shadow': '0 4px 14px rgba(0,0,0,.25)', 'box-sizing': 'border-box',
        transition: 'transform .15s ease', outline: 'none'
      }, root);
      btn.style.setProperty(side, '20px', 'important');
      btn.type = 'button';
      btn.setAttribute('data-porch-launcher', '');
      btn.setAttribute('aria-haspopup', 'dialog');
      btn.setAttribute('aria-expanded', 'false');
      var icon = svg(ICON_CHAT);
      btn.appendChild(icon);
      var badge = el('span', {
        all: 'initial', position: 'absolute', top: '-4px', right: '-4px', 'min-width': '20px',
        height: '20px', padding: '0 5px', 'box-sizing': 'border-box', 'border-radius': '10px',
        background: '#dc2626', color: '#fff', font: 'bold 12px/20px system-ui, sans-serif',
        'text-align': 'center', display: 'none', border: '2px solid #fff'
      }, btn);
      badge.setAttribute('data-porch-badge', '');
      badge.setAttribute('aria-hidden', 'true');
      var ring = function (on) {
        css(btn, { 'box-shadow': on ? '0 0 0 3px #fff, 0 0 0 6px ' + color : '0 4px 14px rgba(0,0,0,.25)' });
      };
      btn.addEventListener('focus', guard(function () {
        try { if (!btn.matches(':focus-visible')) return; } catch (e) { /* old browser */ }
        ring(true);
      }));
      btn.addEventListener('blur', guard(function () { ring(false); }));

      var frame = el('iframe', {
        all: 'initial', position: 'fixed', display: 'none', border: '0', background: 'transparent',
        'color-scheme': 'normal', 'box-shadow': '0 12px 40px rgba(0,0,0,.25)', overflow: 'hidden'
      }, root);
      frame.title = 'Chat';
      frame.setAttribute('data-porch-frame', '');
      if (cfg.features && cfg.features.voice) frame.setAttribute('allow', 'microphone');
      var q = 'locale=' + encodeURIComponent(lang) + (attr('color') && HEX.test(attr('color')) ?
        '&color=' + encodeURIComponent(color) : '');
      frame.src = base + '/w/' + encodeURIComponent(id) + '?' + q;

      var words = {
        de: ['Chat öffnen', 'Chat schließen', 'ungelesen'],
        fr: ['Ouvrir le chat', 'Fermer le chat', 'non lu'],
        es: ['Abrir el chat', 'Cerrar el chat', 'sin leer']
      }[lang.slice(0, 2).toLowerCase()] || ['Open chat', 'Close chat', 'unread'];
      var label = function () {
        btn.setAttribute('aria-label', isOpen ? words[1] : unread ?
          words[0] + ', ' + unread + ' ' + words[2] : words[0]);
        badge.textContent = unread > 9 ? '9+' : String(unread);
        css(badge, { display: unread && !isOpen ? 'block' : 'none' });
      };

      var layout = function () {
        var small = w.innerWidth < 480;
        full = small || wantFull;
        var r = theme.border_radius == null ? 12 : theme.border_radius;
        if (full) {
          css(frame, { top: '0', left: '0', right: 'auto', bottom: 'auto', width: '100%',
            height: '100%', 'max-width': 'none', 'max-height': 'none', 'border-radius': '0' });
        } else {
          css(frame, { top: 'auto', bottom: '88px', width: '380px', 'max-width': 'calc(100vw - 32px)',
            height: '640px', 'max-height': 'calc(100vh - 108px)', 'border-radius': r + 'px',
            left: left ? '20px' : 'auto', right: left ? 'auto' : '20px' });
        }
        css(btn, { display: isOpen && full ? 'none' : 'flex' });
        if (frameReady) post({ type: 'layout', small: small, full: full });
      };

      var post = function (msg) {
        msg.porch = 1;
        if (frameReady) frame.contentWindow.postMessage(msg, porchOrigin);
        else pending.push(msg);
      };

      var setOpen = function (open, fromFrame) {
        if (open === isOpen) return;
        isOpen = open;
        if (open) unread = 0;
        btn.setAttribute('aria-expanded', String(open));
        btn.replaceChild(svg(open ? ICON_CLOSE : ICON_CHAT), btn.firstChild);
        css(frame, { display: open ? 'block' : 'none' });
        layout();
        label();
        if (!fromFrame) post({ type: open ? 'open' : 'close' });
        if (open) {
          try { frame.focus(); } catch (e) { /* ignore */ }
        } else {
          try { btn.focus({ preventScroll: true }); } catch (e) { /* ignore */ }
        }
      };

      btn.addEventListener('click', guard(function () { setOpen(!isOpen); }));
      w.addEventListener('resize', guard(layout));

      w.addEventListener('message', guard(function (e) {
        if (e.origin !== porchOrigin || e.source !== frame.contentWindow) return;
        var m = e.data;
        if (!m || m.porch !== 1 || typeof m.type !== 'string') return;
        if (m.type === 'ready') {
          frameReady = true;
          clearTimeout(timer);
          css(root, { display: 'block' });
          frame.contentWindow.postMessage({
            porch: 1, type: 'init', page_url: location.href, page_title: d.title,
            locale: lang, open: isOpen, user: user, small: w.innerWidth < 480, full: full,
            conversation: recall()
          }, porchOrigin);
          while (pending.length) frame.contentWindow.postMessage(pending.shift(), porchOrigin);
        } else if (m.type === 'store') {
          keep(m.conversation);
        } else if (m.type === 'open') {
          setOpen(true, true);
        } else if (m.type === 'close') {
          setOpen(false, true);
        } else if (m.type === 'message') {
          if (!isOpen) { unread++; label(); }
        } else if (m.type === 'fullscreen') {
          wantFull = !!m.on;
          layout();
        } else if (m.type === 'resize' && !full && typeof m.height === 'number') {
          css(frame, { height: Math.max(320, Math.min(800, m.height)) + 'px' });
        }
      }));

      var calls = {
        open: function () { setOpen(true); },
        close: function () { setOpen(false); },
        toggle: function () { setOpen(!isOpen); },
        identify: function (u) {
          if (!u || typeof u !== 'object') return;
          // token: the site's signed identity token (docs/security.md), beside or instead of
          // id + hash; the frame sends it as the conversation's identity_token.
          user = { id: String(u.id || u.user_id || ''), name: u.name, email: u.email, hash: u.hash,
            token: u.token || u.identity_token };
          post({ type: 'identify', user: user });
        }
      };
      w.porch = guard(function (cmd, arg) {
        var fn = calls[cmd];
        if (fn) fn(arg); else warn('unknown command ' + cmd);
      });
      w.porch.q = [];

      label();
      layout();
      var timer = setTimeout(guard(function () {
        root.remove();
        warn('widget ' + id + ' is not shown: the chat page at ' + frame.src + ' did not load. ' +
          'Check that this website (' + location.origin + ') is in the widget\'s allowed origins.');
      }), 20000);
      var attach = guard(function () {
        d.body.appendChild(root);
        while (queue.length) w.porch.apply(w, queue.shift());
        if (/^(1|true|yes|open)$/i.test(attr('open') || '')) setOpen(true);
      });
      if (d.body) attach(); else d.addEventListener('DOMContentLoaded', attach);
    }
  })();
})(window, document);
