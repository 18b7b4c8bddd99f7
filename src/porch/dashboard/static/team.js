/* Team and workspaces: the workspace switcher in the header, the invitation link shown once,
   role changes, and the page an invitation link opens. No inline script (strict CSP); every
   server text goes in through textContent. */
(function (w, d) {
  'use strict';
  var P = w.Porch;
  if (!P) return;
  var rootMeta = d.querySelector('meta[name="porch-root"]');
  var HOME = (rootMeta ? rootMeta.getAttribute('content') || '' : '') + '/app/';

  // ---- the workspace switcher ---------------------------------------------------------
  var picker = d.getElementById('ws-switch');
  if (picker) {
    P.api('GET', '/api/v1/workspaces').then(function (data) {
      var list = (data && data.workspaces) || [];
      picker.textContent = '';
      list.forEach(function (ws) {
        var opt = P.el('option', null, ws.name + ' (' + ws.role + ')');
        opt.value = ws.id;
        opt.selected = !!ws.active;
        picker.appendChild(opt);
      });
      picker.hidden = list.length < 2;
    }, function () { picker.hidden = true; });
    picker.addEventListener('change', function () {
      picker.disabled = true;
      P.api('POST', '/api/v1/workspaces/' + encodeURIComponent(picker.value) + '/switch', {}).then(function () {
        location.assign(HOME);
      }, function (err) {
        picker.disabled = false;
        P.toast(err.message);
      });
    });
  }

  // ---- Team page -------------------------------------------------------------------------
  var invite = d.getElementById('invite-form');
  if (invite) {
    invite.addEventListener('porch:invited', function (e) {
      var data = e.detail || {};
      d.getElementById('invite-url').textContent = data.url || '';
      var reveal = d.getElementById('invite-reveal');
      reveal.hidden = false;
      reveal.scrollIntoView({ block: 'nearest' });
      invite.reset();
      var row = d.createElement('tr');
      row.appendChild(P.el('td', null, data.role));
      row.appendChild(P.el('td', null, data.email || 'Anyone with the link'));
      row.appendChild(P.el('td', 'nowrap', P.when(data.expires_at)));
      row.appendChild(P.el('td', 'actions'));
      var body = d.getElementById('invitations-body');
      if (body) body.appendChild(row);
      var table = d.getElementById('invitations-table');
      if (table) table.hidden = false;
      var empty = d.getElementById('invitations-empty');
      if (empty) empty.hidden = true;
    });
  }
  d.addEventListener('change', function (e) {
    var el = e.target;
    if (!el.matches || !el.matches('select[data-autosubmit]') || !el.form) return;
    if (typeof el.form.requestSubmit === 'function') el.form.requestSubmit();
    else el.form.dispatchEvent(new Event('submit', { cancelable: true, bubbles: true }));
  });

  // ---- the page an invitation link opens -------------------------------------------------
  var join = d.getElementById('join');
  if (!join) return;
  var KEY = 'porch-invitation';
  var token = location.hash.replace(/^#/, '');
  try {
    if (token) {
      w.sessionStorage.setItem(KEY, token);
    } else {
      token = w.sessionStorage.getItem(KEY) || '';
    }
  } catch (err) { /* storage off: the fragment alone still works */ }
  if (location.hash) {
    // Off the address bar and history: the link works once and should not linger.
    history.replaceState(null, '', location.pathname + location.search);
  }
  if (!token) {
    d.getElementById('join-missing').hidden = false;
    Array.prototype.forEach.call(join.querySelectorAll('form'), function (f) { f.hidden = true; });
    return;
  }
  function done() {
    try { w.sessionStorage.removeItem(KEY); } catch (err) { /* nothing to forget */ }
    location.assign(HOME);
  }
  function wire(form, call) {
    if (!form) return;
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      P.clearErrors(form);
      var buttons = form.querySelectorAll('button');
      Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
      call(form).then(done, function (err) {
        P.showErrors(form, err);
        Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; });
      });
    });
  }
  wire(d.getElementById('join-accept'), function () {
    return P.api('POST', '/api/v1/invitations/accept', { token: token });
  });
  wire(d.getElementById('join-signup'), function (form) {
    return P.api('POST', '/api/v1/auth/signup', {
      email: form.elements.namedItem('email').value,
      password: form.elements.namedItem('password').value,
      invitation_token: token
    });
  });
})(window, document);
