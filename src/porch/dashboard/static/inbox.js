/* porch live inbox: one WebSocket per page (/api/v1/inbox/ws) brings new conversations,
   messages, streamed assistant tokens, typing and status changes without a reload.
   Resumes from the last event id after a drop. Every text goes in through textContent. */
(function (w, d) {
  'use strict';

  function meta(name) {
    var m = d.querySelector('meta[name="' + name + '"]');
    return m ? m.getAttribute('content') || '' : '';
  }
  var ROOT = meta('porch-root');
  var CSRF = meta('porch-csrf');
  var list = d.querySelector('[data-live-inbox]');
  var thread = d.querySelector('[data-live-conversation]');
  if (!list && !thread) return;
  var widgetId = list ? list.getAttribute('data-live-inbox') : null;
  var convId = thread ? thread.getAttribute('data-live-conversation') : null;
  var STATUS = { open: 'Open', waiting_for_agent: 'Waiting for a person', agent: 'With a person', closed: 'Closed' };

  function el(tag, cls, text) {
    var n = d.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }

  function api(method, path, body) {
    var headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET') headers['X-CSRF-Token'] = CSRF;
    return fetch(ROOT + path, {
      method: method, headers: headers, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (data) {
        if (!res.ok) throw new Error((data && data.error && data.error.message) || ('HTTP ' + res.status));
        return data;
      });
    });
  }

  // ---- the socket: reconnects with backoff and resumes from the last event id ------------
  var socket = null;
  var lastEventId = null;
  var tries = 0;
  var live = d.querySelector('[data-live-state]');
  function setLive(text, ok) {
    if (!live) return;
    live.textContent = text;
    live.classList.toggle('on', !!ok);
  }
  // Closed because access ended (docs/realtime.md): 4401 signed out or access revoked,
  // 4404 the conversation is gone; neither comes back by reconnecting. 4403: the rights
  // changed (a role change); reconnect at once, with whatever the new role allows.
  var SIGNED_OUT = 4401, RIGHTS_CHANGED = 4403, GONE = 4404;
  var ended = false;
  function signedOut(reason) {
    ended = true;
    if (!live) return;
    live.textContent = 'Signed out' + (reason && reason !== 'signed out' ? ': ' + reason : '') + '. ';
    live.classList.remove('on');
    live.classList.add('ended');
    var a = live.appendChild(el('a', null, 'Sign in'));
    a.href = ROOT + '/app/login?next=' + encodeURIComponent(location.pathname);
  }
  function gone(reason) {
    ended = true;
    setLive('Not live: ' + (reason || 'this conversation is gone') + '.', false);
  }
  // A socket refused at the handshake says nothing about why: ask whether we are signed in.
  function stillSignedIn() {
    return fetch(ROOT + '/api/v1/auth/me', { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (res) { return res.status !== 401; }, function () { return true; });
  }
  function connect() {
    if (ended) return;
    var url = new URL(ROOT + '/api/v1/inbox/ws', location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    if (lastEventId !== null) url.searchParams.set('last_event_id', String(lastEventId));
    var opened = false;
    socket = new WebSocket(url.href);
    socket.onopen = function () { opened = true; tries = 0; setLive('Live', true); };
    socket.onmessage = function (e) {
      var f;
      try { f = JSON.parse(e.data); } catch (x) { return; }
      if (typeof f.id === 'number' && (lastEventId === null || f.id > lastEventId)) lastEventId = f.id;
      if (f.type === 'ready') {
        if (lastEventId === null) lastEventId = f.last_event_id || 0;
        if (f.reset) location.reload();
        return;
      }
      if (f.type === 'ping') { socket.send('{"type":"pong"}'); return; }
      if (list) onListEvent(f);
      if (thread && f.conversation_id === convId) onThreadEvent(f);
      notify('event', f);
    };
    socket.onclose = function (e) {
      socket = null;
      if (e.code === SIGNED_OUT) { signedOut(e.reason); return; }
      if (e.code === GONE) { gone(e.reason); return; }
      if (e.code === RIGHTS_CHANGED) {
        setLive('Your role changed; reconnecting…', false);
        tries = 0;
        setTimeout(connect, 200);
        return;
      }
      setLive('Reconnecting…', false);
      tries++;
      var later = function () { setTimeout(connect, Math.min(15000, 500 * Math.pow(2, tries))); };
      if (opened) { later(); return; }
      stillSignedIn().then(function (yes) { if (yes) later(); else signedOut(''); });
    };
  }

  // A stored time as the server prints it ("2026-01-02 10:04 UTC").
  function when(iso) {
    var t = iso ? new Date(iso) : new Date();
    if (isNaN(t.getTime())) t = new Date();
    return t.toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
  }
  // Message text as the widget shows it (markdown.js builds nodes only, never HTML).
  function setBody(node, text) {
    node._raw = text;
    if (w.PorchMarkdown) { node.textContent = ''; node.appendChild(w.PorchMarkdown.render(text)); }
    else node.textContent = text;
  }
  // Message and unread counts shown in the tab title, the favicon and the navigation.
  function notify(kind, f) {
    try { d.dispatchEvent(new CustomEvent('porch:inbox', { detail: { kind: kind, frame: f } })); } catch (x) { /* old browser */ }
  }

  // ---- the conversation list ---------------------------------------------------------------
  function row(id) { return list.querySelector('[data-conversation="' + id + '"]'); }
  function unreadBadge(li, n) {
    var b = li.querySelector('.unread');
    if (!b) { b = el('span', 'badge unread'); li.querySelector('.conv-meta').prepend(b); }
    b.textContent = n > 0 ? n + ' new' : '';
    b.hidden = !(n > 0);
    li.setAttribute('data-unread', String(n || 0));
  }
  function setRowStatus(li, status) {
    var badge = li.querySelector('.status');
    if (badge) { badge.textContent = STATUS[status] || status; badge.className = 'badge status st-' + status; }
  }
  function part(li, cls, tag, before) {
    var n = li.querySelector('.' + cls);
    if (!n) {
      n = el(tag || 'span', cls);
      var box = li.querySelector(before ? '.conv-main' : '.conv-meta');
      if (before) box.insertBefore(n, box.querySelector('.conv-preview')); else box.appendChild(n);
    }
    return n;
  }
  function newRow(c) {
    var li = el('li');
    li.setAttribute('data-conversation', c.id);
    li.setAttribute('data-count', '0');
    var a = li.appendChild(el('a', 'conv-row'));
    a.href = ROOT + '/app/conversations/' + c.id;
    var main = a.appendChild(el('span', 'conv-main'));
    var who = c.user ? (c.user.name || c.user.email || c.user.id) : 'Visitor';
    main.appendChild(el('span', 'conv-who', who + (c.page_url ? ' · ' + (c.page_title || c.page_url) : '')));
    main.appendChild(el('span', 'conv-preview', 'No messages yet'));
    var metaBox = a.appendChild(el('span', 'conv-meta'));
    metaBox.appendChild(el('span', 'badge status st-' + c.status, STATUS[c.status] || c.status));
    metaBox.appendChild(el('span', 'small muted conv-time', when(c.created_at)));
    var counts = metaBox.appendChild(el('span', 'small'));
    var count = counts.appendChild(el('span', 'count'));
    count.title = 'Messages';
    count.appendChild(el('span', 'n', '0'));
    var empty = d.querySelector('[data-inbox-empty]');
    if (empty) empty.hidden = true;
    list.hidden = false;
    list.prepend(li);
    return li;
  }
  function bumpCount(li) {
    var n = Number(li.getAttribute('data-count') || 0) + 1;
    li.setAttribute('data-count', String(n));
    var c = li.querySelector('.count .n');
    if (c) c.textContent = String(n);
  }
  function onListEvent(f) {
    if (f.type === 'conversation.created') {
      if (f.conversation && f.conversation.widget_id === widgetId && !row(f.conversation_id)) newRow(f.conversation);
      return;
    }
    var li = row(f.conversation_id);
    if (!li) return;
    if (f.type === 'message.created' && f.message) {
      var m = f.message;
      var text = (m.content || '').slice(0, 160);
      // The visitor's words are the row's question; a system note (a handoff) never hides it.
      if (m.role === 'user') part(li, 'conv-question', 'span', true).textContent = text;
      else if (m.role !== 'system') part(li, 'conv-preview', 'span', true).textContent = text;
      part(li, 'conv-time').textContent = when(m.created_at || f.at);
      bumpCount(li);
      if (m.role === 'user') unreadBadge(li, Number(li.getAttribute('data-unread') || 0) + 1);
      list.prepend(li);
    } else if (f.type === 'message.delta') {
      var q = li.querySelector('.conv-preview');
      if (q) { q._stream = (q._stream || '') + f.delta; q.textContent = q._stream.slice(-160); }
    } else if (f.status) {
      setRowStatus(li, f.status);
      if (typeof f.unread_count === 'number') unreadBadge(li, f.unread_count);
    }
  }
  if (list) {
    list.querySelectorAll('[data-conversation]').forEach(function (li) {
      unreadBadge(li, Number(li.getAttribute('data-unread') || 0));
    });
  }

  // ---- one conversation ----------------------------------------------------------------------
  // One state (status, assignee, counts), changed only by events and by the API's answers;
  // show() draws every part of the page that depends on it, so no two parts can disagree.
  var messages = thread ? thread.querySelector('[data-messages]') : null;
  var typingNote = thread ? thread.querySelector('[data-typing]') : null;
  var streaming = {};
  var typingTimer = null;
  var state = thread ? {
    status: thread.getAttribute('data-status'),
    assigned: thread.getAttribute('data-assigned-id') || null,
    agentName: (d.querySelector('[data-assigned]') || {}).textContent,
    unread: Number(thread.getAttribute('data-unread') || 0),
    count: Number(thread.getAttribute('data-message-count') || 0),
    lastAt: null
  } : null;
  var me = thread ? thread.getAttribute('data-me') : null;

  function setText(sel, text) { var n = d.querySelector(sel); if (n) n.textContent = text; }
  function show() {
    var closed = state.status === 'closed';
    thread.setAttribute('data-status', state.status);
    var badge = d.querySelector('[data-status-badge]');
    if (badge) { badge.textContent = STATUS[state.status] || state.status; badge.className = 'badge st-' + state.status; }
    setText('[data-status-text]', STATUS[state.status] || state.status);
    setText('[data-assigned]', state.assigned ? (state.agentName || 'A teammate') : 'Nobody');
    setText('[data-unread-text]', String(state.unread));
    setText('[data-count-text]', String(state.count));
    if (state.lastAt) setText('[data-last-at]', when(state.lastAt));
    var hide = function (sel, yes) { var n = d.querySelector(sel); if (n) n.hidden = yes; };
    hide('[data-action="assign"]', closed || state.assigned === me);
    hide('[data-assign-box]', closed);
    hide('[data-action="release"]', state.status !== 'waiting_for_agent' && state.status !== 'agent');
    hide('form[data-when="closed"]', !closed);
    hide('form[data-when="not-closed"]', closed);
  }
  function apply(f) {
    if (f.status) state.status = f.status;
    if (f.status === 'closed' && f.assigned_user_id === undefined) { /* closing keeps the assignee */ }
    if (f.assigned_user_id !== undefined) { state.assigned = f.assigned_user_id || null; state.agentName = f.agent_name || ''; }
    if (typeof f.unread_count === 'number') state.unread = f.unread_count;
    show();
  }

  function addMessage(m) {
    if (m.id && messages.querySelector('[data-id="' + m.id + '"]')) return null;
    var li = el('li', 'msg msg-' + m.role);
    li.setAttribute('data-role', m.role);
    if (m.id) li.setAttribute('data-id', m.id);
    var head = li.appendChild(el('div', 'msg-head'));
    var name = m.role === 'user' ? 'Visitor' : m.role === 'assistant' ? 'Assistant' : m.role === 'agent' ? (m.author_name || 'Agent') : 'System';
    head.appendChild(el('span', 'msg-role', name));
    var time = head.appendChild(el('time', 'muted small', when(m.created_at)));
    time.setAttribute('datetime', m.created_at || new Date().toISOString());
    var kinds = Object.keys(m.redactions || {});
    if (kinds.length) {
      // What the redaction rules removed before storing: counts per kind, never the values.
      var b = head.appendChild(el('span', 'badge st-redacted', 'Redacted: ' + kinds.map(function (k) {
        return m.redactions[k] > 1 ? k + ' \u00d7' + m.redactions[k] : k;
      }).join(', ')));
      b.setAttribute('data-testid', 'redacted');
      b.title = "Removed before storing, by the workspace's redaction rules";
    }
    setBody(li.appendChild(el('div', 'msg-body')), m.content || '');
    messages.appendChild(li);
    li.scrollIntoView({ block: 'nearest' });
    return li;
  }
  function counted(m) {
    state.count += 1;
    state.lastAt = m.created_at || new Date().toISOString();
  }
  function onThreadEvent(f) {
    if (f.type === 'message.created' && f.message) {
      var s = f.message.id && streaming[f.message.id];
      if (s) {
        setBody(s.querySelector('.msg-body'), f.message.content);
        s.classList.remove('streaming');
        delete streaming[f.message.id];
        counted(f.message);
      } else if (addMessage(f.message)) counted(f.message);
      if (f.message.role === 'user') {
        state.unread += 1;
        if (d.visibilityState === 'visible') markRead();
      }
      show();
    } else if (f.type === 'message.started' && f.message_id) {
      var li = addMessage({ id: f.message_id, role: 'assistant', content: '', created_at: f.at });
      if (li) { li.classList.add('streaming'); streaming[f.message_id] = li; }
    } else if (f.type === 'message.delta' && streaming[f.message_id]) {
      var body = streaming[f.message_id].querySelector('.msg-body');
      setBody(body, (body._raw || '') + f.delta);
    } else if (f.type === 'typing' && f.who === 'visitor' && typingNote) {
      typingNote.hidden = !f.on;
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () { typingNote.hidden = true; }, 4000);
    } else if (f.status) {
      apply(f);
    }
  }

  function markRead() { api('POST', '/api/v1/conversations/' + convId + '/read').catch(function () {}); }

  if (thread) {
    messages.querySelectorAll('.msg-body[data-md]').forEach(function (b) { setBody(b, b.textContent); });
    markRead();
    show();
    var form = thread.querySelector('[data-reply]');
    var box = form.querySelector('textarea');
    var error = form.querySelector('[data-reply-error]');
    var actionError = d.querySelector('[data-action-error]');
    var fail = function (node, err) { node.textContent = err.message; node.hidden = false; };
    var sentTyping = 0;
    box.addEventListener('input', function () {
      var now = Date.now();
      if (socket && socket.readyState === 1 && now - sentTyping > 1500) {
        sentTyping = now;
        socket.send(JSON.stringify({ type: 'typing', conversation_id: convId, on: true }));
      }
    });
    box.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
    });
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var text = box.value.trim();
      if (!text) return;
      var button = form.querySelector('button[type=submit]');
      button.disabled = true;
      error.hidden = true;
      error.textContent = '';
      api('POST', '/api/v1/conversations/' + convId + '/messages', { content: text }).then(function (res) {
        box.value = '';
        if (addMessage(res.message)) counted(res.message);
        state.status = res.status || state.status;
        state.unread = 0;
        if (!state.assigned) { state.assigned = me; state.agentName = res.message.author_name || ''; }
        show();
      }, function (err) { fail(error, err); }).then(function () { button.disabled = false; box.focus(); });
    });
    d.querySelectorAll('[data-action]').forEach(function (b) {
      b.addEventListener('click', function () {
        var action = b.getAttribute('data-action');
        var body = action === 'assign' ? {} : undefined;
        if (action === 'assign-to') {
          var pick = d.querySelector('[data-assign-to]');
          if (!pick.value) return;
          action = 'assign';
          body = { user_id: pick.value };
        }
        if (actionError) actionError.hidden = true;
        api('POST', '/api/v1/conversations/' + convId + '/' + action, body).then(function (res) {
          var f = { status: res.status };
          if (action === 'assign') { f.assigned_user_id = res.assigned_user_id || (body && body.user_id) || me; f.agent_name = res.assigned_name; }
          apply(f);
        }, function (err) { if (actionError) fail(actionError, err); });
      });
    });
    var pick = d.querySelector('[data-assign-to]');
    if (pick) {
      api('GET', '/api/v1/inbox/members').then(function (res) {
        res.members.forEach(function (m) {
          var o = pick.appendChild(el('option', null, m.name + ' (' + m.email + ')'));
          o.value = m.user_id;
        });
      }, function () {});
    }
  }

  connect();
})(window, document);
