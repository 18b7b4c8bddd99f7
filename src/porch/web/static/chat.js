/* porch chat page: runs inside the iframe the loader adds (or on its own at /w/{id}). */
(function (w, d) {
  'use strict';
  var cfg = JSON.parse(d.getElementById('porch-config').textContent);
  var params = new URLSearchParams(location.search);
  var features = cfg.features || {};
  var WID = cfg.widget_id;
  var API = new URL('../api/v1/', location.href).href;
  var MAX = 4000;
  var MIN_TYPING = 350;  // ms the typing dots show at least, however quick the reply
  var KEY = 'porch:conversation:' + WID;
  var embedded = w.parent !== w;
  var locale = params.get('locale') || navigator.language || 'en';
  var t = w.PorchI18n.translator(locale);
  var md = w.PorchMarkdown;
  var $ = function (id) { return d.getElementById('porch-' + id); };

  var log = $('log');
  var form = $('form');
  var input = form.elements.message;
  var sendBtn = $('send');
  var status = $('status');
  var notice = $('notice');

  var conv = load();
  var parentOrigin = null;
  var page = {};
  var user = null;
  var busy = false;
  var hasMore = false;
  var loadingOlder = false;
  var socket = null;
  // A person has the conversation (their reply, or a status frame said so): no "Talk to a
  // human" offer, no "a team member will reply" after each of the visitor's messages.
  var human = false;
  var waitingShown = false;

  // ---- theme, strings -------------------------------------------------------------------
  (function theme() {
    var th = cfg.theme || {};
    var color = params.get('color');
    var primary = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i.test(color || '') ? color : th.primary_color;
    var root = d.documentElement;
    var set = function (k, v) { if (v != null && v !== '') root.style.setProperty(k, String(v)); };
    set('--t-primary', primary);
    set('--t-on-primary', ink(primary || '#2563eb'));
    // Text in the brand colour (links, chips) darkened or lightened until it reads well.
    set('--t-accent', readable(primary || '#2563eb', th.background_color || '#ffffff',
      th.text_color || '#111827'));
    set('--t-accent-dark', readable(primary || '#2563eb', '#111827', '#f3f4f6'));
    set('--t-text', th.text_color);
    set('--t-bg', th.background_color);
    set('--t-font', th.font_family);
    set('--t-radius', th.border_radius != null ? th.border_radius + 'px' : null);
    root.setAttribute('data-scheme', th.color_scheme || 'auto');
    root.lang = w.PorchI18n.pick(locale);
    if (!embedded) root.setAttribute('data-standalone', '');
  })();

  function rgb(hex) {
    var h = hex.length === 4 ? hex.replace(/#(.)(.)(.)/, '#$1$1$2$2$3$3') : hex;
    return [1, 3, 5].map(function (i) { return parseInt(h.substr(i, 2), 16); });
  }
  function luminance(c) {
    var l = c.map(function (v) {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2];
  }
  function contrast(a, b) {
    var x = luminance(a) + 0.05;
    var y = luminance(b) + 0.05;
    return x > y ? x / y : y / x;
  }
  /** White or near-black on `hex`, whichever contrasts more (at least 4.5:1 for any colour). */
  function ink(hex) {
    var c = rgb(hex);
    return contrast(c, [255, 255, 255]) >= contrast(c, [17, 24, 39]) ? '#ffffff' : '#111827';
  }
  /** `hex` mixed towards `towards` just enough for a 4.5:1 contrast on `bg` (WCAG AA). */
  function readable(hex, bg, towards) {
    var c = rgb(hex);
    var b = rgb(bg);
    var t = rgb(towards);
    for (var k = 0; k <= 10; k++) {
      var m = c.map(function (v, i) { return Math.round(v + (t[i] - v) * k / 10); });
      if (contrast(m, b) >= 4.5) return 'rgb(' + m.join(',') + ')';
    }
    return towards;
  }

  d.querySelectorAll('[data-t]').forEach(function (n) { n.textContent = t(n.getAttribute('data-t')); });
  d.querySelectorAll('[data-t-label]').forEach(function (n) {
    n.setAttribute('aria-label', t(n.getAttribute('data-t-label')));
    n.title = n.getAttribute('aria-label');
  });
  input.placeholder = t('placeholder');
  log.setAttribute('aria-label', t('log'));

  // ---- small helpers ----------------------------------------------------------------------
  function el(tag, cls, text) {
    var n = d.createElement(tag);
    if (cls) n.className = cls;
    if (text != null) n.textContent = text;
    return n;
  }
  function load() {
    try { var v = JSON.parse(localStorage.getItem(KEY) || 'null'); return v && v.visitor_token ? v : null; }
    catch (e) { return null; }
  }
  function save(v) {
    conv = v;
    if (v) wsTries = 0;  // a new conversation's socket starts afresh
    try { if (v) localStorage.setItem(KEY, JSON.stringify(v)); else localStorage.removeItem(KEY); }
    catch (e) { /* a third-party frame's storage is blocked: the host page keeps it */ }
    // The loader keeps it in the host site's storage, which third-party rules leave alone.
    // Sent only to the origin that framed us (known from its init), never to '*'.
    if (embedded && parentOrigin) {
      w.parent.postMessage({ porch: 1, type: 'store', conversation: v }, parentOrigin);
    }
  }
  function valid(v) {
    return v && typeof v.conversation_id === 'string' && typeof v.visitor_token === 'string' ?
      { conversation_id: v.conversation_id, visitor_token: v.visitor_token } : null;
  }
  function tell(type, extra) {
    if (!embedded) return;
    var m = extra || {};
    m.porch = 1;
    m.type = type;
    w.parent.postMessage(m, parentOrigin || '*');
  }
  function nearBottom() { return log.scrollHeight - log.scrollTop - log.clientHeight < 80; }
  function toBottom(force) { if (force || nearBottom()) log.scrollTop = log.scrollHeight; }
  function svgIcon(path) {
    var s = d.createElementNS('http://www.w3.org/2000/svg', 'svg');
    s.setAttribute('viewBox', '0 0 24 24');
    s.setAttribute('aria-hidden', 'true');
    s.setAttribute('focusable', 'false');
    var p = d.createElementNS('http://www.w3.org/2000/svg', 'path');
    p.setAttribute('d', path);
    s.appendChild(p);
    return s;
  }
  var THUMB = 'M2 21h4V9H2v12zm20-11a2 2 0 0 0-2-2h-6.3l1-4.6v-.3c0-.4-.2-.8-.4-1.1L13.2 1 6.6 7.6' +
    'C6.2 8 6 8.5 6 9v10a2 2 0 0 0 2 2h9c.8 0 1.5-.5 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z';

  var request = w.PorchApi.client(API, function (path) {
    // Visitor routes take the conversation's token; starting a conversation needs none.
    return conv && path.indexOf('widgets/') !== 0 ? conv.visitor_token : null;
  });
  var readEvents = w.PorchApi.readEvents;
  var acts = w.PorchActions.create({
    t: t,
    el: el,
    answer: function (callId, body) {
      return request('POST', 'conversations/' + conv.conversation_id + '/confirmations/' + callId, body)
        .then(function (res) { return res.json(); });
    },
    reply: function (text) { message({ role: 'assistant', content: text }); toBottom(true); },
    focus: function () { input.focus(); }
  });

  // ---- messages ---------------------------------------------------------------------------
  function renderBody(node) {
    var bubble = node.querySelector('.bubble');
    var sources = features.sources === false ? [] : node._sources || [];
    bubble.textContent = '';
    if (node.getAttribute('data-role') === 'user') bubble.textContent = node._raw;
    else bubble.appendChild(md.render(node._raw, { sources: sources, cite: citer(sources, node._final) }));
    var box = node.querySelector('[data-porch-sources]');
    if (box) box.remove();
    if (sources.length) node.insertBefore(sourceList(sources), bubble.nextSibling);
  }

  /** [n] as the listed sources number it: a source names the markers it answers for
   *  (`refs`). A marker without a listed source is dropped once the reply is complete. */
  function citer(sources, final) {
    var byRef = {};
    var legacy = true;
    sources.forEach(function (s, i) {
      (s.refs || []).forEach(function (r) { byRef[r] = i + 1; legacy = false; });
    });
    return function (n) {
      var i = legacy ? (n <= sources.length ? n : 0) : byRef[n] || 0;
      if (!i) return final ? null : { n: n };  // still streaming: the sources come last
      return { n: i, src: sources[i - 1] };
    };
  }

  function sourceList(sources) {
    var box = el('div', 'sources');
    box.setAttribute('data-porch-sources', '');
    box.appendChild(el('p', 'sources-title', t('sources')));
    var ol = box.appendChild(el('ol'));
    // One entry per page (the server merged a page's passages): number i+1 is marker [i+1].
    sources.forEach(function (s, i) {
      var href = s.url && md.safeUrl(s.url);
      var li = ol.appendChild(el('li'));
      li.value = i + 1;
      // A source without a web address (pasted text, an upload) is a placeholder link: no href.
      var a = li.appendChild(el('a', null, s.title || s.url || ''));
      if (s.snippet) a.title = s.snippet;
      if (href) {
        a.href = href;
        a.target = '_blank';
        a.rel = 'noopener noreferrer';
      }
    });
    return box;
  }

  function message(m, where) {
    var role = m.role === 'system' ? 'system' : m.role;
    var node = el('div', 'msg msg-' + role);
    node.setAttribute('data-role', role);
    if (m.id) node.setAttribute('data-id', m.id);
    var who = role === 'user' ? 'you' : role === 'agent' ? 'agent' : role === 'assistant' ? 'assistant' : null;
    if (who) node.appendChild(el('span', 'sr-only', (m.author_name || t(who)) + ':'));
    if (role === 'agent' && m.author_name) node.appendChild(el('span', 'author', m.author_name));
    node.appendChild(el('div', 'bubble'));
    node._raw = m.content || '';
    node._sources = m.sources || [];
    node._final = m.final !== false;
    renderBody(node);
    if (m.status && m.status !== 'complete' && role === 'assistant' && m.content) {
      node.appendChild(el('p', 'note', t('cutOff')));
    }
    if (role === 'assistant' && m.id && features.feedback !== false) addFeedback(node, m.id);
    if (where === 'top') log.insertBefore(node, log.firstChild);
    else log.insertBefore(node, $('typing') || null);
    (m.actions || []).forEach(function (a) { acts.show(node, a); });
    return node;
  }

  function addFeedback(node, id) {
    var bar = el('div', 'feedback');
    var thanks = el('span', 'thanks');
    thanks.setAttribute('role', 'status');
    [['up', 'helpful'], ['down', 'notHelpful']].forEach(function (r) {
      var b = bar.appendChild(el('button', 'icon thumb thumb-' + r[0]));
      b.type = 'button';
      b.setAttribute('aria-label', t(r[1]));
      b.title = t(r[1]);
      b.setAttribute('aria-pressed', 'false');
      b.setAttribute('data-rating', r[0]);
      b.appendChild(svgIcon(THUMB));
      b.addEventListener('click', function () {
        request('POST', 'messages/' + id + '/feedback', { rating: r[0] }).then(function () {
          bar.querySelectorAll('button').forEach(function (x) {
            x.setAttribute('aria-pressed', String(x === b));
          });
          thanks.textContent = t('thanks');
        }, function (err) { showError(err); });
      });
    });
    bar.appendChild(thanks);
    node.appendChild(bar);
  }

  function typing(on, who) {
    var node = $('typing');
    if (!on) { if (node) node.remove(); return; }
    if (!node) {
      node = el('div', 'msg msg-assistant typing');
      node.id = 'porch-typing';
      node.setAttribute('aria-label', t(who || 'typing'));
      node.setAttribute('role', 'status');
      var b = node.appendChild(el('div', 'bubble'));
      for (var i = 0; i < 3; i++) b.appendChild(el('span', 'dot'));
      log.appendChild(node);
    }
    toBottom(true);
  }

  function greet() {
    log.textContent = '';
    if (cfg.greeting) message({ role: 'assistant', content: cfg.greeting });
    suggestions(true);
  }

  function suggestions(show) {
    var box = $('suggestions');
    box.textContent = '';
    box.hidden = !show || !(cfg.suggested_questions || []).length;
    if (box.hidden) return;
    (cfg.suggested_questions || []).forEach(function (q) {
      var b = box.appendChild(el('button', 'chip', q));
      b.type = 'button';
      b.addEventListener('click', function () { send(q); });
    });
  }

  // ---- history ----------------------------------------------------------------------------
  function history(before) {
    var q = '?limit=30' + (before ? '&before=' + encodeURIComponent(before) : '');
    return request('GET', 'conversations/' + conv.conversation_id + '/messages' + q).then(function (res) {
      return res.json();
    }).then(function (body) {
      hasMore = !!body.has_more;
      var msgs = body.messages || [];
      if (!before) conversationStatus(body.status, false);
      if (before) {
        var height = log.scrollHeight;
        for (var i = msgs.length - 1; i >= 0; i--) message(msgs[i], 'top');
        log.scrollTop += log.scrollHeight - height;
      } else {
        log.textContent = '';
        msgs.forEach(function (m) { message(m); });
        suggestions(!msgs.some(function (m) { return m.role === 'user'; }));
        toBottom(true);
      }
      if (hasMore && log.scrollHeight <= log.clientHeight) return older();
    });
  }

  function older() {
    if (loadingOlder || !hasMore || !conv) return;
    var first = log.querySelector('.msg[data-id]');
    if (!first) return;
    loadingOlder = true;
    log.setAttribute('aria-busy', 'true');
    $('older').hidden = false;
    return history(first.getAttribute('data-id')).catch(function () { /* try again on next scroll */ })
      .then(function () {
        loadingOlder = false;
        $('older').hidden = true;
        log.removeAttribute('aria-busy');
      });
  }
  var lastTop = 0;
  log.addEventListener('scroll', function () {
    // Only the visitor scrolling up asks for older messages, never our own jumps down.
    if (log.scrollTop < 60 && log.scrollTop < lastTop) older();
    lastTop = log.scrollTop;
  });

  function start() {
    if (!conv) { greet(); return Promise.resolve(); }
    return history().then(connect, function (err) {
      if (err.kind === 'gone') {
        // Expired or deleted: say so, and the next question starts a new conversation.
        save(null);
        greet();
        if (err.code === 'visitor_token_expired') message({ role: 'system', content: t('expired') });
        return;
      }
      greet();
      showError(err);
    });
  }

  // A user the site signed (user.hash, docs/security.md) picks up their latest open
  // conversation on any device; anything else starts a new one as before.
  function resumeLatest() {
    if (conv || busy || !user || !(user.hash || user.token)) return;
    var who = user.token ? { identity_token: String(user.token) } :
      { user: { id: String(user.id), hash: String(user.hash) } };
    var base = 'widgets/' + WID + '/visitor/conversations';
    request('GET', base, undefined, user.token ? { 'X-Porch-Identity-Token': who.identity_token } :
      { 'X-Porch-User-Id': who.user.id, 'X-Porch-User-Hash': who.user.hash })
      .then(function (res) { return res.json(); })
      .then(function (b) {
        var last = (b.conversations || []).filter(function (c) { return c.status !== 'closed'; })[0];
        if (!last || conv) return;
        return request('POST', base + '/' + last.conversation_id + '/resume', who)
          .then(function (res) { return res.json(); })
          .then(function (c) {
            if (conv || busy) return;
            save({ conversation_id: c.conversation_id, visitor_token: c.visitor_token });
            return start();
          });
      })
      .catch(function () { /* not verified, or offline: nothing to resume */ });
  }

  function oneLine(value) {
    return String(value).replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
  }

  function ensureConversation() {
    if (conv) return Promise.resolve(conv);
    var body = { locale: locale.slice(0, 20) };
    // One line each (the API refuses control characters): a host page's title may hold any.
    if (page.page_url) body.page_url = oneLine(page.page_url).slice(0, 2048);
    if (page.page_title) body.page_title = oneLine(page.page_title).slice(0, 300);
    if (user && user.token) body.identity_token = String(user.token);
    if (user && user.id) body.user = { id: user.id, name: user.name, email: user.email, hash: user.hash };
    if (!/^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$/.test(body.locale)) delete body.locale;
    return request('POST', 'widgets/' + WID + '/conversations', body).then(function (res) {
      return res.json();
    }).then(function (c) {
      save({ conversation_id: c.conversation_id, visitor_token: c.visitor_token });
      connect();
      return conv;
    });
  }

  // ---- sending and streaming --------------------------------------------------------------
  function send(text, userNode, retried) {
    text = (text || '').trim();
    if (busy || !text) return;
    if (text.length > MAX) { showError({ kind: 'long' }); return; }
    busy = true;
    sendBtn.disabled = true;
    clearError();
    suggestions(false);
    if (!userNode) {
      userNode = message({ role: 'user', content: text });
      input.value = '';
      grow();
    }
    userNode.classList.remove('failed');
    var notSent = userNode.querySelector('.note');
    if (notSent) notSent.remove();
    toBottom(true);
    typing(true);
    log.setAttribute('aria-busy', 'true');
    var reply = null;
    var done = false;
    var frameLimit = null;
    // The reply as received, and how much of it shows. Text is revealed over a few frames
    // and the typing dots stay at least MIN_TYPING: a reply that arrives all at once (the
    // offline answerer's takes milliseconds) still reads as typed, for every provider.
    var full = '';
    var shown = 0;
    var sentAt = Date.now();
    var finish = null;
    var paint = function () {
      frameLimit = null;
      if (!reply) {
        var wait = MIN_TYPING - (Date.now() - sentAt);
        if (wait > 0) { frameLimit = setTimeout(paint, wait); return; }
        typing(false);
        reply = message({ role: 'assistant', content: '', final: false });
        if (userNode._replyId) reply.setAttribute('data-id', userNode._replyId);
      }
      shown = Math.min(full.length, shown + Math.max(8, Math.ceil((full.length - shown) / 6)));
      reply._raw = full.slice(0, shown);
      var stick = nearBottom();
      renderBody(reply);
      toBottom(stick);
      // A timer, not an animation frame: a closed panel gets no frames, yet its reply
      // must complete (the launcher counts it as unread).
      if (shown < full.length) frameLimit = setTimeout(paint, 16);
      else if (finish) finish();
    };
    var flush = function () {
      // Everything at once (an error, or the stream ended): nothing received stays hidden.
      clearTimeout(frameLimit);
      frameLimit = null;
      if (reply) { reply._raw = full; shown = full.length; renderBody(reply); }
    };
    var handle = function (ev, data) {
      if (ev === 'start') {
        if (data.user_message_id) userNode.setAttribute('data-id', data.user_message_id);
        if (data.message_id) userNode._replyId = data.message_id;
      } else if (ev === 'token') {
        full += data.delta || '';
        if (!frameLimit) paint();
      } else if (ev === 'action') {
        // The reply's place now, so the progress line shows while its text is on the way.
        if (!reply) {
          reply = message({ role: 'assistant', content: '', final: false });
          if (userNode._replyId) reply.setAttribute('data-id', userNode._replyId);
        }
        acts.show(reply, data);
        toBottom();
      } else if (ev === 'sources') {
        sources = data.sources || [];
      } else if (ev === 'done') {
        done = true;
        finish = function () {
          finish = null;
          typing(false);
          if (reply) {
            reply._final = true;
            reply._sources = sources;
            renderBody(reply);
            toBottom(true);
            if (data.message_id) {
              reply.setAttribute('data-id', data.message_id);
              if (features.feedback !== false) addFeedback(reply, data.message_id);
            }
            if (data.status && data.status !== 'complete') reply.appendChild(el('p', 'note', t('cutOff')));
            tell('message', { role: 'assistant' });
          } else if (!data.message_id && !human && !waitingShown) {
            waitingShown = true;
            message({ role: 'system', content: t('waiting') });
          }
        };
        if (!full || (reply && shown >= full.length)) finish();
      } else if (ev === 'handoff' && data.offered && features.handoff) {
        offerPerson(data.text);
      } else if (ev === 'error') {
        throw { kind: 'stream', message: data.message, code: data.code };
      }
    };
    var sources = [];
    return ensureConversation().then(function () {
      return request('POST', 'conversations/' + conv.conversation_id + '/messages',
        { content: text }, { Accept: 'text/event-stream' });
    }).then(function (res) {
      if ((res.headers.get('Content-Type') || '').indexOf('text/event-stream') < 0) {
        return res.json().then(function (b) {
          handle('start', { user_message_id: b.user_message_id });
          if (b.message) {
            (b.message.actions || []).forEach(function (a) { handle('action', a); });
            handle('token', { delta: b.message.content });
            handle('sources', { sources: b.message.sources });
          }
          handle('done', { message_id: b.message && b.message.id, status: 'complete' });
        });
      }
      return readEvents(res, handle);
    }).then(function () {
      if (!done) throw { kind: 'stream' };
    }).catch(function (err) {
      finish = null;
      clearTimeout(frameLimit);
      frameLimit = null;
      sentAt = 0;
      if (!reply && full) paint();  // shown now, so the cut-off note below has a place
      flush();
      typing(false);
      if (err && err.kind === 'gone' && !retried) {
        // The stored conversation is gone (deleted, or the token is stale): start afresh.
        save(null);
        busy = false;
        return send(text, userNode, true);
      }
      if (reply && reply._raw) reply.appendChild(el('p', 'note', t('cutOff')));
      else if (reply) reply.remove();
      userNode.classList.add('failed');
      if (!userNode.querySelector('.note')) userNode.appendChild(el('p', 'note', t('notSent')));
      showError(err && err.kind ? err : { kind: 'error' }, function () { send(text, userNode); });
    }).then(function () {
      busy = false;
      sendBtn.disabled = false;
      log.removeAttribute('aria-busy');
    });
  }

  // ---- errors and retry -------------------------------------------------------------------
  var countdown = null;
  function clearError() {
    clearInterval(countdown);
    status.hidden = true;
    status.textContent = '';
  }
  function showError(err, retry) {
    clearError();
    var text = el('p', 'status-text');
    var kind = err.kind;
    var msg = {
      offline: t('offline'), network: t('network'), unavailable: t('unavailable'),
      forbidden: t('forbidden'), long: t('tooLong', { max: MAX }), gone: t('error')
    }[kind] || (kind === 'stream' && err.message) || (kind === 'error' && err.message) || t('error');
    status.appendChild(text);
    status.hidden = false;
    status.setAttribute('data-kind', kind);
    if (!retry || kind === 'forbidden' || kind === 'long') { text.textContent = msg; return; }
    var btn = status.appendChild(el('button', 'retry', t('retry')));
    btn.type = 'button';
    btn.addEventListener('click', function () { clearError(); retry(); input.focus(); });
    if (kind === 'rate') {
      var left = Math.max(1, err.retryAfter || 5);
      var tick = function () {
        text.textContent = left > 1 ? t('wait', { n: left }) : left === 1 ? t('waitOne') : t('waitDone');
        btn.disabled = left > 0;
        if (left-- <= 0) clearInterval(countdown);
      };
      tick();
      countdown = setInterval(tick, 1000);
    } else {
      text.textContent = msg;
    }
  }
  w.addEventListener('offline', function () { notice.hidden = false; notice.textContent = t('offline'); });
  w.addEventListener('online', function () { notice.hidden = true; });

  // ---- live agent messages (WebSocket) ----------------------------------------------------
  var wsTries = 0;
  var lastEventId = null;
  var typingSent = 0;
  // The team sees the visitor typing (at most one signal every two seconds).
  input.addEventListener('input', function () {
    var now = Date.now();
    if (socket && socket.readyState === 1 && now - typingSent > 2000) {
      typingSent = now;
      socket.send('{"type":"typing","on":true}');
    }
  });
  function connect() {
    if (!conv || socket || !w.WebSocket || wsTries > 8) return;
    var url = new URL('conversations/' + conv.conversation_id + '/ws', API);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    // Resume: the server sends what happened while this socket was away, then live events.
    if (lastEventId !== null) url.searchParams.set('last_event_id', String(lastEventId));
    var opened = false;
    // The token rides as a subprotocol, never in the URL (access logs keep URLs).
    var offer = ['porch.v1', 'porch.token.' + conv.visitor_token];
    try { socket = new WebSocket(url.href, offer); } catch (e) { socket = null; return; }
    socket.onopen = function () { opened = true; wsTries = 0; };
    socket.onmessage = function (e) {
      var m;
      try { m = JSON.parse(e.data); } catch (x) { return; }
      var type = m.type || m.event;
      var body = m.message || m.data || m;
      if (typeof m.id === 'number' && (lastEventId === null || m.id > lastEventId)) lastEventId = m.id;
      if (type === 'ready' && lastEventId === null) lastEventId = m.last_event_id || 0;
      if (type === 'ping') { socket.send('{"type":"pong"}'); return; }
      if (type === 'agent.typing') {
        if (!busy) { typing(true, 'agentTyping'); setTimeout(function () { if (!busy) typing(false); }, 4000); }
      } else if (type === 'status') {
        conversationStatus(m.status, true);
      } else if (type === 'agent.message' && body && body.content) {
        conversationStatus('agent', false);
        if (body.id && log.querySelector('[data-id="' + body.id + '"]')) return;
        if (!busy) typing(false);
        body.role = body.role || 'agent';
        message(body);
        toBottom();
        tell('message', { role: 'agent' });
      }
    };
    socket.onclose = function (e) {
      socket = null;
      // 4401: this conversation's token no longer opens it (expired, or its workspace gone);
      // 4404: the conversation is gone. Reconnecting cannot help; the next message the
      // visitor sends finds out over HTTP and starts a new conversation.
      if (e && (e.code === 4401 || e.code === 4404)) { wsTries = 99; return; }
      if (!opened) wsTries++;
      if (conv && wsTries <= 8) setTimeout(connect, Math.min(30000, 1000 * Math.pow(2, wsTries)));
    };
  }

  // ---- composer ---------------------------------------------------------------------------
  var counter = $('counter');
  function grow() {
    input.style.height = 'auto';
    input.style.height = Math.min(input.scrollHeight, 140) + 'px';
    var n = input.value.length;
    counter.textContent = n ? t('counter', { n: n, max: MAX }) : '';
    counter.classList.toggle('over', n >= MAX);
  }
  input.maxLength = MAX;
  input.addEventListener('input', grow);
  input.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send(input.value);
    }
  });
  form.addEventListener('submit', function (e) { e.preventDefault(); send(input.value); });

  // Voice input, where the browser has speech recognition and the owner turned it on.
  var Speech = w.SpeechRecognition || w.webkitSpeechRecognition;
  var voice = $('voice');
  if (features.voice && Speech) {
    voice.hidden = false;
    var rec = null;
    voice.addEventListener('click', function () {
      if (rec) { rec.stop(); return; }
      rec = new Speech();
      rec.lang = locale;
      rec.interimResults = true;
      var before = input.value ? input.value.replace(/\s*$/, ' ') : '';
      rec.onresult = function (e) {
        var said = '';
        for (var i = 0; i < e.results.length; i++) said += e.results[i][0].transcript;
        input.value = (before + said).slice(0, MAX);
        grow();
      };
      rec.onerror = function (e) {
        // Say why instead of failing silently: no microphone, or no permission for it.
        var why = e && e.error;
        showError({ kind: 'error', message: t(
          why === 'not-allowed' || why === 'service-not-allowed' ? 'micDenied' :
            why === 'audio-capture' ? 'micMissing' : why === 'no-speech' ? 'noSpeech' :
              why === 'network' ? 'voiceNetwork' : 'voiceFailed') });
      };
      rec.onend = function () {
        rec = null;
        voice.setAttribute('aria-pressed', 'false');
        voice.setAttribute('aria-label', t('voiceStart'));
        input.focus();
      };
      voice.setAttribute('aria-pressed', 'true');
      voice.setAttribute('aria-label', t('voiceStop'));
      try { rec.start(); } catch (e) { rec.onerror({ error: 'failed' }); rec.onend(); }
    });
  }

  // Human handoff.
  var handoffBtn = $('handoff');
  if (features.handoff) {
    handoffBtn.hidden = false;
    handoffBtn.addEventListener('click', function () {
      handoffBtn.disabled = true;
      ensureConversation().then(function () {
        return request('POST', 'conversations/' + conv.conversation_id + '/handoff', {});
      }).then(function (res) {
        return res.json().catch(function () { return {}; });
      }).then(function (b) {
        // Outside office hours the server says when someone will reply.
        message({ role: 'system', content: (b && b.message) || t('handoffDone') });
        conversationStatus('waiting_for_agent', false);
        toBottom(true);
      }, function (err) {
        handoffBtn.disabled = false;
        showError(err.kind === 'error' ? { kind: 'error', message: t('handoffFailed') } : err);
      });
    });
  }

  /** What the conversation's status means for the visitor. `live`: it just changed. */
  function conversationStatus(s, live) {
    if (s === 'agent') {
      human = true;
    } else if (s === 'waiting_for_agent') {
      waitingShown = true;
    } else if (s === 'closed' || s === 'open') {
      if (live && s === 'closed') {
        message({ role: 'system', content: t('closed') });
        toBottom(true);
      }
      human = waitingShown = false;
    }
    handoffBtn.hidden = !features.handoff || human || s === 'waiting_for_agent';
    handoffBtn.disabled = false;
  }

  // The assistant could not help: offer a person right in the conversation.
  function offerPerson(text) {
    var node = message({ role: 'system', content: text });
    var b = node.appendChild(el('button', 'link-btn', t('handoff')));
    b.type = 'button';
    b.setAttribute('data-action', 'handoff');
    b.addEventListener('click', function () { b.remove(); handoffBtn.click(); });
    if (human || waitingShown) b.remove();
  }

  // ---- header buttons, keyboard, parent messages -------------------------------------------
  var full = false;
  $('close').addEventListener('click', function () { tell('close'); });
  $('expand').addEventListener('click', function () {
    full = !full;
    $('expand').setAttribute('aria-pressed', String(full));
    $('expand').setAttribute('aria-label', t(full ? 'collapse' : 'expand'));
    tell('fullscreen', { on: full });
  });
  $('restart').addEventListener('click', function () {
    if (busy) return;
    if (socket) { var s = socket; socket = null; s.onclose = null; s.close(); }
    lastEventId = null;
    save(null);
    clearError();
    conversationStatus('open', false);
    greet();
    input.focus();
  });

  d.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && embedded) {
      e.preventDefault();
      tell('close');
    } else if (e.key === 'Tab') {
      // Keep focus inside the open panel.
      var items = Array.prototype.filter.call(
        d.querySelectorAll('button, textarea, a[href], [tabindex="0"]'),
        function (n) { return !n.disabled && n.offsetParent !== null; });
      if (!items.length) return;
      var first = items[0];
      var last = items[items.length - 1];
      if (e.shiftKey && (d.activeElement === first || !d.activeElement || d.activeElement === d.body)) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && d.activeElement === last) {
        e.preventDefault();
        first.focus();
      }
    }
  });

  var ancestor = location.ancestorOrigins && location.ancestorOrigins[0];
  w.addEventListener('message', function (e) {
    var m = e.data;
    if (e.source !== w.parent || !m || m.porch !== 1) return;
    if (ancestor && e.origin !== ancestor) return;
    if (parentOrigin && e.origin !== parentOrigin) return;
    if (m.type === 'init' || m.type === 'layout') {
      // The loader decides the panel's size: no "expand" where it is full screen already.
      d.documentElement.toggleAttribute('data-small', !!m.small);
      full = !!m.full && !m.small;
      $('expand').setAttribute('aria-pressed', String(full));
      $('expand').setAttribute('aria-label', t(full ? 'collapse' : 'expand'));
    }
    if (m.type === 'init') {
      if (parentOrigin) return;  // one init per page: a second could swap the conversation
      parentOrigin = e.origin;
      page = { page_url: m.page_url, page_title: m.page_title };
      // The host site's copy wins: it is the one every tab of that site shares.
      var kept = valid(m.conversation);
      if (kept && !begun) conv = kept;
      if (conv) save(conv);
      begin();
      if (m.user && (m.user.id || m.user.token)) { user = m.user; resumeLatest(); }
      if (m.open) input.focus();
    } else if (m.type === 'open') {
      input.focus();
    } else if (m.type === 'identify' && m.user && (m.user.id || m.user.token)) {
      user = m.user;
      resumeLatest();
    }
  });

  // In a frame, wait for the loader's init (it brings the conversation the host site kept);
  // a loader that never answers still gets a working chat after a moment.
  var begun = false;
  function begin() {
    if (begun) return;
    begun = true;
    start();
  }
  tell('ready');
  if (embedded) setTimeout(begin, 3000); else begin();
  if (!embedded) input.focus();
})(window, document);
