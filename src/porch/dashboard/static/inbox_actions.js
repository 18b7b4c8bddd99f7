/* porch inbox: a conversation's action calls, live. Each `action_call.updated` frame of the
   inbox socket (inbox.js re-dispatches every frame as a `porch:inbox` event) redraws its call;
   a call that waits for a team member gets Approve and Decline; "Run an action" runs one of the
   widget's enabled actions for the visitor. In the list, a conversation with a call waiting
   for approval is flagged. Every text goes in through textContent. */
(function (w, d) {
  'use strict';

  function meta(name) {
    var m = d.querySelector('meta[name="' + name + '"]');
    return m ? m.getAttribute('content') || '' : '';
  }
  var ROOT = meta('porch-root');
  var CSRF = meta('porch-csrf');
  var box = d.querySelector('[data-calls]');
  var list = d.querySelector('[data-live-inbox]');
  if (!box && !list) return;

  var STATE = {
    collecting: 'Asking the visitor', confirm: 'Waiting for confirmation', running: 'Running',
    succeeded: 'Succeeded', failed: 'Failed'
  };
  var TRIGGER = { model: 'the model', offline: 'the offline answerer', test: 'a test', agent: 'an agent' };

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
  function when(iso) {
    var t = iso ? new Date(iso) : new Date();
    if (isNaN(t.getTime())) t = new Date();
    return t.toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
  }
  function awaitsAgent(c) { return c.state === 'confirm' && c.confirmation === 'agent'; }

  // ---- the list: flag conversations with a call waiting for a team member ------------------
  function flagRow(f) {
    var li = list.querySelector('[data-conversation="' + f.conversation_id + '"]');
    if (!li || !f.call) return;
    var flag = li.querySelector('.approval-flag');
    if (!li._waiting) {
      // Drawn by the server: some call waits, which one the page does not know.
      li._waiting = {};
      if (flag && !flag.hidden) li._waiting.drawn = true;
    }
    var c = f.call;
    if (awaitsAgent(c)) li._waiting[c.id] = true;
    else {
      delete li._waiting[c.id];
      if ((c.decided_by && c.trigger !== 'agent') || c.confirmation === 'expired') delete li._waiting.drawn;
    }
    if (!flag) {
      flag = el('span', 'badge approval-flag', 'Needs approval');
      var metaBox = li.querySelector('.conv-meta');
      if (metaBox) metaBox.prepend(flag);
    }
    flag.hidden = Object.keys(li._waiting).length === 0;
  }

  // ---- one conversation --------------------------------------------------------------------
  var convId = box ? box.getAttribute('data-calls') : null;
  var calls = box ? box.querySelector('[data-call-list]') : null;
  var empty = box ? box.querySelector('[data-calls-empty]') : null;
  var flag = d.querySelector('[data-approval-flag]');
  var titles = {};

  function args(c) {
    var sent = c.sent_arguments || {};
    return Object.keys(sent).length ? sent : (c.arguments || {});
  }
  function drawCall(c) {
    var li = calls.querySelector('[data-call-id="' + c.id + '"]');
    if (!li) {
      li = el('li', 'call');
      li.setAttribute('data-call-id', c.id);
      calls.prepend(li);
    }
    li.textContent = '';
    var failed = c.state === 'failed';
    li.className = 'call' + (failed ? ' call-failed' : '') + (awaitsAgent(c) ? ' call-waiting' : '');
    li.setAttribute('data-state', c.state);
    var head = li.appendChild(el('div', 'call-head'));
    head.appendChild(el('strong', 'call-title', titles[c.action_id] || c.slug));
    // Not by colour alone: the word and the mark say it failed, and why.
    var label = (failed ? '⚠ ' : '') + (awaitsAgent(c) ? 'Waiting for approval' : STATE[c.state] || c.state) +
      (c.error_class ? ': ' + c.error_class : '');
    head.appendChild(el('span', 'badge st-' + (failed ? 'failed' : c.state === 'succeeded' ? 'ready' : 'pending'), label));
    var facts = [c.slug, 'by ' + (TRIGGER[c.trigger] || c.trigger), when(c.created_at)];
    if (typeof c.duration_ms === 'number') facts.push(c.duration_ms + ' ms');
    if (typeof c.status === 'number') facts.push('HTTP ' + c.status);
    var time = li.appendChild(el('p', 'small muted call-facts', facts.join(' · ')));
    time.setAttribute('data-testid', 'call-facts');
    var shown = args(c);
    var names = Object.keys(shown);
    if (names.length) {
      var dl = li.appendChild(el('dl', 'call-args'));
      names.forEach(function (k) {
        dl.appendChild(el('dt', null, k));
        var v = shown[k];
        dl.appendChild(el('dd', null, typeof v === 'string' ? v : JSON.stringify(v)));
      });
    }
    if (c.visitor_text) li.appendChild(el('p', 'small call-text', 'Visitor saw: ' + c.visitor_text));
    if (awaitsAgent(c)) {
      li.appendChild(el('p', 'small call-ask', 'Waits for a team member to approve it.'));
      var row = li.appendChild(el('div', 'call-buttons'));
      var error = el('p', 'form-error small');
      error.setAttribute('role', 'alert');
      error.hidden = true;
      [['approve', 'Approve', 'btn small primary'], ['decline', 'Decline', 'btn small']].forEach(function (b) {
        var button = row.appendChild(el('button', b[2], b[1]));
        button.type = 'button';
        button.setAttribute('aria-label', b[1] + ' ' + (titles[c.action_id] || c.slug));
        button.addEventListener('click', function () {
          row.querySelectorAll('button').forEach(function (x) { x.disabled = true; });
          error.hidden = true;
          api('POST', '/api/v1/conversations/' + convId + '/action-calls/' + c.id + '/' + b[0]).then(function () {
            return api('GET', '/api/v1/conversations/' + convId + '/action-calls').then(load);
          }, function (err) {
            error.textContent = err.message;
            error.hidden = false;
            row.querySelectorAll('button').forEach(function (x) { x.disabled = false; });
          });
        });
      });
      li.appendChild(error);
    } else if (c.decided_by && c.confirmation !== 'none') {
      li.appendChild(el('p', 'small muted', 'Decided by a team member (' + c.confirmation + ').'));
    }
    known[c.id] = c;
    refresh();
  }
  var known = {};
  function refresh() {
    var waiting = Object.keys(known).some(function (id) { return awaitsAgent(known[id]); });
    if (flag) flag.hidden = !waiting;
    if (empty) empty.hidden = Object.keys(known).length > 0;
  }
  function load(res) {
    // Oldest first, each prepended: the newest ends on top, as new ones arrive.
    res.calls.slice().reverse().forEach(drawCall);
  }

  // ---- running an action for the visitor ---------------------------------------------------
  var form = box ? box.querySelector('[data-run]') : null;
  function field(name, schema, i) {
    var wrap = el('div', 'field');
    var id = 'run-arg-' + i;
    var label = wrap.appendChild(el('label', null, name.replace(/_/g, ' ') + (schema.description ? ' (' + schema.description + ')' : '')));
    label.htmlFor = id;
    var input;
    if (schema.enum) {
      input = el('select');
      schema.enum.forEach(function (v) { var o = input.appendChild(el('option', null, v)); o.value = String(v); });
    } else if (schema.type === 'boolean') {
      input = el('select');
      ['true', 'false'].forEach(function (v) { var o = input.appendChild(el('option', null, v)); o.value = v; });
    } else {
      input = el('input');
      input.type = schema.type === 'integer' || schema.type === 'number' ? 'number' : 'text';
      if (schema.maxLength) input.maxLength = schema.maxLength;
    }
    input.id = id;
    input.name = name;
    input.setAttribute('data-type', schema.type || 'string');
    wrap.appendChild(input);
    return wrap;
  }
  function setupRun(res) {
    if (!form) return;
    var pick = form.querySelector('[data-run-action]');
    var params = form.querySelector('[data-run-params]');
    var status = form.querySelector('[data-run-status]');
    var byId = {};
    res.actions.forEach(function (a) {
      titles[a.id] = a.title;
      byId[a.id] = a;
      var o = pick.appendChild(el('option', null, a.title + (a.risk !== 'read' ? ' (' + a.risk + ')' : '')));
      o.value = a.id;
    });
    form.hidden = res.actions.length === 0;
    function draw() {
      params.textContent = '';
      var a = byId[pick.value];
      if (!a) return;
      Object.keys(a.parameters).forEach(function (k, i) { params.appendChild(field(k, a.parameters[k], i)); });
      if (a.requires_verified) params.appendChild(el('p', 'small muted', 'Runs only for a signed-in visitor.'));
    }
    pick.addEventListener('change', draw);
    draw();
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var body = {};
      params.querySelectorAll('[name]').forEach(function (input) {
        if (input.value === '') return;
        var t = input.getAttribute('data-type');
        body[input.name] = t === 'integer' || t === 'number' ? Number(input.value) : t === 'boolean' ? input.value === 'true' : input.value;
      });
      var button = form.querySelector('button[type=submit]');
      button.disabled = true;
      status.textContent = 'Running…';
      api('POST', '/api/v1/conversations/' + convId + '/actions/' + pick.value + '/run', { arguments: body }).then(function (c) {
        drawCall(c);
        status.textContent = (STATE[c.state] || c.state) + (c.error_class ? ': ' + c.error_class : '') + (c.visitor_text ? '. ' + c.visitor_text : '');
      }, function (err) { status.textContent = err.message; }).then(function () { button.disabled = false; });
    });
  }

  d.addEventListener('porch:inbox', function (e) {
    var f = e.detail && e.detail.frame;
    if (!f || f.type !== 'action_call.updated' || !f.call) return;
    if (list) flagRow(f);
    if (box && f.conversation_id === convId) drawCall(f.call);
  });
  if (box) {
    // Titles first, so that every call is drawn with its action's name.
    api('GET', '/api/v1/conversations/' + convId + '/actions').then(setupRun, function () {})
      .then(function () { return api('GET', '/api/v1/conversations/' + convId + '/action-calls'); })
      .then(load, function () {});
  }
})(window, document);
