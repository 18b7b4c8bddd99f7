/* porch dashboard: forms that call the JSON API with the session's CSRF token, confirmations,
   copy buttons. No framework; every text from the server goes in through textContent. */
(function (w, d) {
  'use strict';

  function meta(name) {
    var m = d.querySelector('meta[name="' + name + '"]');
    return m ? m.getAttribute('content') || '' : '';
  }
  var ROOT = meta('porch-root');
  var CSRF = meta('porch-csrf');

  // ---- the API --------------------------------------------------------------------------
  function ApiError(status, body) {
    var e = (body && body.error) || {};
    this.status = status;
    this.code = e.code || 'error';
    this.message = e.message || (status ? 'The server answered ' + status + '.' : 'No connection to the server.');
    this.details = e.details || [];
  }

  function api(method, path, body) {
    var headers = { Accept: 'application/json' };
    var init = { method: method, headers: headers, credentials: 'same-origin' };
    if (body instanceof FormData) {
      init.body = body;
    } else if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    if (method !== 'GET' && CSRF) headers['X-CSRF-Token'] = CSRF;
    return fetch(ROOT + path, init).then(function (res) {
      var json = (res.headers.get('content-type') || '').indexOf('json') >= 0;
      var parsed = res.status === 204 || !json ? Promise.resolve(null) : res.json().catch(function () { return null; });
      return parsed.then(function (data) {
        if (res.ok) return data;
        if (res.status === 401 && CSRF) { toLogin(); }
        throw new ApiError(res.status, data);
      });
    }, function () { throw new ApiError(0, null); });
  }

  function toLogin() {
    var here = location.pathname + location.search;
    location.assign(ROOT + '/app/login?next=' + encodeURIComponent(here));
  }

  // Only paths of this site: a stored value can never send the owner elsewhere.
  function safePath(url) {
    return typeof url === 'string' && url.charAt(0) === '/' && url.charAt(1) !== '/' && url.indexOf('\\') < 0;
  }

  // ---- forms → JSON ---------------------------------------------------------------------
  function setPath(obj, path, value) {
    var keys = path.split('.');
    var at = obj;
    for (var i = 0; i < keys.length - 1; i++) {
      if (typeof at[keys[i]] !== 'object' || at[keys[i]] === null) at[keys[i]] = {};
      at = at[keys[i]];
    }
    at[keys[keys.length - 1]] = value;
  }

  var OMIT = {};
  function valueOf(el) {
    var type = el.getAttribute('data-type') || 'text';
    var blank = el.getAttribute('data-blank');
    if (type === 'bool') return el.checked;
    var raw = el.value;
    if (type === 'lines') {
      return raw.split('\n').map(function (s) { return s.trim(); }).filter(Boolean);
    }
    if (raw.trim() === '') {
      if (blank === 'null' || type === 'nullable') return null;
      if (blank === 'omit' || type === 'int' || type === 'float') return OMIT;
      return '';
    }
    if (type === 'int') return /^-?\d+$/.test(raw.trim()) ? parseInt(raw, 10) : raw;
    if (type === 'float') return isNaN(Number(raw)) ? raw : Number(raw);
    return raw;
  }

  function serialize(form) {
    if (form.enctype === 'multipart/form-data') {
      var fd = new FormData();
      Array.prototype.forEach.call(form.elements, function (el) {
        if (!el.name || el.disabled) return;
        if (el.type === 'file') { if (el.files[0]) fd.append(el.name, el.files[0]); return; }
        var v = valueOf(el);
        if (v !== OMIT && v !== null) fd.append(el.name, String(v));
      });
      return fd;
    }
    var out = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled || el.type === 'submit' || el.type === 'button') return;
      var v = valueOf(el);
      if (v !== OMIT) setPath(out, el.name, v);
    });
    return out;
  }

  function clearErrors(form) {
    var box = form.querySelector('.form-error');
    if (box) { box.hidden = true; box.textContent = ''; }
    Array.prototype.forEach.call(form.querySelectorAll('[aria-invalid]'), function (el) {
      el.removeAttribute('aria-invalid');
    });
    Array.prototype.forEach.call(form.querySelectorAll('.field-error'), function (el) { el.remove(); });
  }

  function showErrors(form, err) {
    var box = form.querySelector('.form-error');
    var placed = false;
    (err.details || []).forEach(function (item) {
      var name = String(item.field || '').replace(/\.\d+$/, '');
      var el = name && form.elements.namedItem(name);
      if (!el || !el.parentNode || el.length) return;
      el.setAttribute('aria-invalid', 'true');
      var note = d.createElement('p');
      note.className = 'field-error';
      note.textContent = item.message.replace(/^Value error, /, '');
      el.parentNode.appendChild(note);
      if (!placed) { el.focus(); placed = true; }
    });
    if (box) {
      box.textContent = placed ? 'Please correct the marked fields.' : err.message;
      box.hidden = false;
      if (!placed) box.scrollIntoView({ block: 'nearest' });
    }
  }

  // ---- confirmation dialog ---------------------------------------------------------------
  function confirmAction(text, okLabel) {
    var dlg = d.getElementById('porch-confirm');
    if (!dlg || typeof dlg.showModal !== 'function') return Promise.resolve(w.confirm(text));
    d.getElementById('porch-confirm-text').textContent = text;
    d.getElementById('porch-confirm-ok').textContent = okLabel || 'Delete';
    dlg.returnValue = '';
    return new Promise(function (resolve) {
      dlg.addEventListener('close', function done() {
        dlg.removeEventListener('close', done);
        resolve(dlg.returnValue === 'ok');
      });
      dlg.showModal();
    });
  }

  function toast(text) {
    var el = d.getElementById('porch-toast');
    if (!el) return;
    el.textContent = text;
    el.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { el.hidden = true; }, 2500);
  }

  function after(form, data) {
    var then = form.getAttribute('data-then') || 'reload';
    if (then === 'reload') { location.reload(); return; }
    if (then.indexOf('go:') === 0) {
      var url = then.slice(3).replace('{id}', data && data.id ? encodeURIComponent(data.id) : '');
      location.assign(safePath(url) ? url : ROOT + '/app/');
      return;
    }
    if (then.indexOf('event:') === 0) {
      form.dispatchEvent(new CustomEvent('porch:' + then.slice(6), { detail: data, bubbles: true }));
    }
  }

  function submit(form) {
    var method = (form.getAttribute('data-method') || 'POST').toUpperCase();
    var body = method === 'DELETE' ? undefined : serialize(form);
    var buttons = form.querySelectorAll('button[type=submit]');
    clearErrors(form);
    Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
    form.setAttribute('aria-busy', 'true');
    return api(method, form.getAttribute('data-api'), body).then(function (data) {
      after(form, data);
    }, function (err) {
      showErrors(form, err);
    }).then(function () {
      form.removeAttribute('aria-busy');
      Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; });
    });
  }

  d.addEventListener('submit', function (e) {
    var form = e.target;
    if (!form.matches || !form.matches('form[data-api]')) return;
    e.preventDefault();
    if (form.getAttribute('aria-busy') === 'true') return;
    var question = form.getAttribute('data-confirm');
    if (!question) { submit(form); return; }
    confirmAction(question, form.getAttribute('data-confirm-ok')).then(function (ok) {
      if (ok) submit(form);
    });
  });

  // ---- copy buttons ---------------------------------------------------------------------
  function copyText(text) {
    if (navigator.clipboard && w.isSecureContext) return navigator.clipboard.writeText(text);
    var area = d.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.className = 'offscreen';
    d.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = d.execCommand('copy'); } catch (err) { ok = false; }
    area.remove();
    return ok ? Promise.resolve() : Promise.reject(new Error('copy failed'));
  }

  d.addEventListener('click', function (e) {
    var btn = e.target.closest && e.target.closest('[data-copy]');
    if (!btn) return;
    var source = d.getElementById(btn.getAttribute('data-copy'));
    if (!source) return;
    copyText(source.textContent).then(function () {
      var label = btn.textContent;
      btn.textContent = 'Copied';
      btn.classList.add('done');
      setTimeout(function () { btn.textContent = label; btn.classList.remove('done'); }, 1600);
    }, function () {
      var range = d.createRange();
      range.selectNodeContents(source);
      var sel = w.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      toast('Press Ctrl+C (⌘C) to copy.');
    });
  });

  function when(iso) {
    if (!iso) return '—';
    var t = new Date(iso);
    if (isNaN(t)) return '—';
    return t.toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
  }

  function el(tag, className, text) {
    var node = d.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = String(text);
    return node;
  }

  w.Porch = {
    api: api,
    ApiError: ApiError,
    confirm: confirmAction,
    showErrors: showErrors,
    clearErrors: clearErrors,
    toast: toast,
    when: when,
    el: el,
    safePath: safePath
  };
})(window, document);
