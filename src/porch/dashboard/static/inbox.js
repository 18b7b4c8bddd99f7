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
  function newRow(c) {
    var li = el('li');
    li.setAttribute('data-conversation', c.id);
    var a = li.appendChild(el('a', 'conv-row'));
    a.href = ROOT + '/app/conversations/' + c.id;
    var main = a.appendChild(el('span', 'conv-main'));
    var who = c.user ? (c.user.name || c.user.email || c.user.id) : 'Visitor';
    main.appendChild(el('span', 'conv-who', who + (c.page_url ? ' · ' + (c.page_title || c.page_url) : '')));
    main.appendChild(el('span', 'conv-preview', 'No messages yet'));
    var metaBox = a.appendChild(el('span', 'conv-meta'));
    metaBox.appendChild(el('span', 'badge status st-' + c.status, STATUS[c.status] || c.status));
    var empty = d.querySelector('[data-inbox-empty]');
    if (empty) empty.hidden = true;
    list.hidden = false;
    list.prepend(li);
    return li;
  }
  function onListEvent(f) {
    if (f.type === 'conversation.created') {
      if (f.conversation && f.conversation.widget_id === widgetId && !row(f.conversation_id)) newRow(f.conversation);
      return;
    }
    var li = row(f.conversation_id);
    if (!li) return;
    if (f.type === 'message.created' && f.message) {
      var p = li.querySelector('.conv-preview');
      if (p) p.textContent = f.message.content.slice(0, 160);
      if (f.message.role === 'user') unreadBadge(li, Number(li.getAttribute('data-unread') || 0) + 1);
      list.prepend(li);
    } else if (f.type === 'message.delta') {
      var q = li.querySelector('.conv-preview');
      if (q) q.textContent = ((q._stream || '') + f.delta).slice(-160);
      if (q) q._stream = (q._stream || '') + f.delta;
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
  var messages = thread ? thread.querySelector('[data-messages]') : null;
  var typingNote = thread ? thread.querySelector('[data-typing]') : null;
  // The side panel (status, assignment, actions) sits beside the thread, not inside it.
  var statusText = thread ? d.querySelector('[data-status-text]') : null;
  var streaming = {};
  var typingTimer = null;

  function addMessage(m) {
    if (m.id && messages.querySelector('[data-id="' + m.id + '"]')) return null;
    var li = el('li', 'msg msg-' + m.role);
    li.setAttribute('data-role', m.role);
    if (m.id) li.setAttribute('data-id', m.id);
    var head = li.appendChild(el('div', 'msg-head'));
    var name = m.role === 'user' ? 'Visitor' : m.role === 'assistant' ? 'Assistant' : m.role === 'agent' ? (m.author_name || 'Agent') : 'System';
    head.appendChild(el('span', 'msg-role', name));
    li.appendChild(el('div', 'msg-body', m.content || ''));
    messages.appendChild(li);
    li.scrollIntoView({ block: 'nearest' });
    return li;
  }
  function onThreadEvent(f) {
    if (f.type === 'message.created' && f.message) {
      var s = f.message.id && streaming[f.message.id];
      if (s) { s.querySelector('.msg-body').textContent = f.message.content; s.classList.remove('streaming'); delete streaming[f.message.id]; }
      else addMessage(f.message);
      if (f.message.role === 'user' && d.visibilityState === 'visible') markRead();
    } else if (f.type === 'message.started' && f.message_id) {
      var li = addMessage({ id: f.message_id, role: 'assistant', content: '' });
      if (li) { li.classList.add('streaming'); streaming[f.message_id] = li; }
    } else if (f.type === 'message.delta' && streaming[f.message_id]) {
      var body = streaming[f.message_id].querySelector('.msg-body');
      body.textContent += f.delta;
    } else if (f.type === 'typing' && f.who === 'visitor' && typingNote) {
      typingNote.hidden = !f.on;
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () { typingNote.hidden = true; }, 4000);
    } else if (f.status && statusText) {
      statusText.textContent = STATUS[f.status] || f.status;
      thread.setAttribute('data-status', f.status);
      if (f.agent_name !== undefined && assignedText) assignedText.textContent = f.agent_name || 'Nobody';
    }
  }

  function markRead() { api('POST', '/api/v1/conversations/' + convId + '/read').catch(function () {}); }

  var assignedText = thread ? d.querySelector('[data-assigned]') : null;
  if (thread) {
    markRead();
    var form = thread.querySelector('[data-reply]');
    var box = form.querySelector('textarea');
    var error = form.querySelector('[data-reply-error]');
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
      error.textContent = '';
      api('POST', '/api/v1/conversations/' + convId + '/messages', { content: text }).then(function (res) {
        box.value = '';
        addMessage(res.message);
        if (statusText) statusText.textContent = STATUS[res.status] || res.status;
      }, function (err) { error.textContent = err.message; }).then(function () { button.disabled = false; box.focus(); });
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
        api('POST', '/api/v1/conversations/' + convId + '/' + action, body).then(function (res) {
          if (statusText) statusText.textContent = STATUS[res.status] || res.status;
          if (assignedText && res.assigned_name !== undefined && action === 'assign') assignedText.textContent = res.assigned_name || 'Nobody';
        }, function (err) { error.textContent = err.message; });
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
