/* The Actions page: the definition form (create and edit, JSON fields checked here and by
   the API), secrets, OpenAPI import, and the test panel. Every server text goes in through
   textContent; a secret value is sent once and never put back on the page. */
(function (w, d) {
  'use strict';
  var P = w.Porch;
  var root = d.getElementById('actions-page');
  if (!P || !root) return;
  var WID = root.getAttribute('data-widget-id');

  // ---- field errors: the API names paths (parameters.properties.x.type); the form has
  // one control per top-level field (auth.* are the exception), so the longest known prefix
  // of the path gets the message.
  function fieldFor(form, path) {
    var parts = String(path || '').split('.');
    for (var n = parts.length; n > 0; n--) {
      var el = form.elements.namedItem(parts.slice(0, n).join('.'));
      if (el && !el.length && el.parentNode) return el;
    }
    // A rule of auth as a whole ("bearer needs a secret name") belongs by its type.
    return parts[0] === 'auth' ? form.elements.namedItem('auth.type') : null;
  }

  function mark(form, el, message) {
    el.setAttribute('aria-invalid', 'true');
    var note = P.el('p', 'field-error', message);
    note.id = (el.id || el.name) + '-error';
    el.setAttribute('aria-errormessage', note.id);
    el.parentNode.appendChild(note);
  }

  function fail(form, err, local) {
    var box = form.querySelector('.form-error');
    var first = null;
    (local || []).concat((err && err.details) || []).forEach(function (item) {
      var el = fieldFor(form, item.field);
      if (!el) return;
      mark(form, el, String(item.message || '').replace(/^Value error, /, ''));
      first = first || el;
    });
    var text = err ? err.message : 'Please correct the marked fields.';
    if (first && (!err || (err.details || []).length)) text = 'Please correct the marked fields.';
    box.textContent = text;
    box.hidden = false;
    if (first) first.focus(); else box.scrollIntoView({ block: 'nearest' });
  }

  function parseJson(form, names, out, problems) {
    names.forEach(function (name) {
      var el = form.elements.namedItem(name);
      var raw = el.value.trim();
      if (!raw) { out[name] = undefined; return; }
      try { out[name] = JSON.parse(raw); } catch (e) {
        problems.push({ field: name, message: 'Not valid JSON: ' + e.message });
      }
    });
  }

  function lines(value) {
    return value.split('\n').map(function (s) { return s.trim(); }).filter(Boolean);
  }

  function busy(form, on) {
    Array.prototype.forEach.call(form.querySelectorAll('button'), function (b) { b.disabled = on; });
    if (on) form.setAttribute('aria-busy', 'true'); else form.removeAttribute('aria-busy');
  }

  // ---- the definition form -------------------------------------------------------------
  var form = d.getElementById('action-form');
  var JSON_FIELDS = ['parameters', 'sources', 'extract', 'headers', 'body', 'error_texts'];
  var INTS = ['timeout_ms', 'retries', 'max_response_bytes', 'calls_per_conversation', 'calls_per_day'];
  var title = d.getElementById('form-title');
  var save = d.getElementById('action-save');
  var cancel = d.getElementById('action-cancel');

  function collect(editing, problems) {
    var e = form.elements;
    var body = {
      slug: e.slug.value.trim(),
      title: e.title.value.trim(),
      description: e.description.value,
      examples: lines(e.examples.value),
      method: e.method.value,
      url: e.url.value.trim(),
      risk: e.risk.value,
      response_fields: lines(e.response_fields.value),
      result_template: e.result_template.value,
      allowed_hosts: lines(e.allowed_hosts.value),
      requires_verified: e.requires_verified.checked,
      enabled: e.enabled.checked
    };
    var auth = { type: e['auth.type'].value };
    if (auth.type !== 'none') {
      ['secret', 'username', 'header'].forEach(function (k) {
        var v = e['auth.' + k].value.trim();
        if (v) auth[k] = v;
      });
    }
    body.auth = auth;
    INTS.forEach(function (name) {
      var raw = e[name].value.trim();
      if (!raw) return;
      if (!/^-?\d+$/.test(raw)) { problems.push({ field: name, message: 'A whole number, please.' }); return; }
      body[name] = parseInt(raw, 10);
    });
    var parsed = {};
    parseJson(form, JSON_FIELDS, parsed, problems);
    JSON_FIELDS.forEach(function (name) {
      if (parsed[name] !== undefined) body[name] = parsed[name];
      // Emptied while editing: the field goes back to nothing (no body, no headers...).
      else if (editing) body[name] = name === 'body' ? null : (name === 'parameters' ? { type: 'object', properties: {} } : {});
    });
    // No fields named: no projection (the API's default), whether creating or editing.
    if (!body.response_fields.length) {
      if (editing) body.response_fields = null; else delete body.response_fields;
    }
    return body;
  }

  function pretty(value) {
    return value === null || value === undefined || (typeof value === 'object' && !Array.isArray(value) && !Object.keys(value).length)
      ? '' : JSON.stringify(value, null, 2);
  }

  function fill(a) {
    var e = form.elements;
    e.id.value = a.id;
    ['slug', 'title', 'description', 'method', 'url', 'risk', 'result_template'].forEach(function (k) {
      e[k].value = a[k] == null ? '' : a[k];
    });
    e.examples.value = (a.examples || []).join('\n');
    e.response_fields.value = (a.response_fields || []).join('\n');
    e.allowed_hosts.value = (a.allowed_hosts || []).join('\n');
    INTS.forEach(function (k) { e[k].value = a[k] == null ? '' : String(a[k]); });
    JSON_FIELDS.forEach(function (k) { e[k].value = pretty(a[k]); });
    var auth = a.auth || {};
    e['auth.type'].value = auth.type || 'none';
    ['secret', 'username', 'header'].forEach(function (k) { e['auth.' + k].value = auth[k] || ''; });
    e.requires_verified.checked = !!a.requires_verified;
    e.enabled.checked = !!a.enabled;
    title.textContent = 'Edit ' + a.slug + ' (version ' + a.version + ')';
    save.textContent = 'Save changes';
    cancel.hidden = false;
  }

  function reset() {
    form.reset();
    form.elements.id.value = '';
    title.textContent = title.getAttribute('data-create');
    save.textContent = save.getAttribute('data-create');
    cancel.hidden = true;
    P.clearErrors(form);
  }

  cancel.addEventListener('click', reset);

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    if (form.getAttribute('aria-busy') === 'true') return;
    P.clearErrors(form);
    var id = form.elements.id.value;
    var problems = [];
    var body = collect(!!id, problems);
    if (problems.length) { fail(form, null, problems); return; }
    busy(form, true);
    var call = id ? P.api('PATCH', '/api/v1/actions/' + encodeURIComponent(id), body)
      : P.api('POST', '/api/v1/widgets/' + WID + '/actions', body);
    call.then(function () { location.reload(); }, function (err) {
      busy(form, false);
      fail(form, err);
    });
  });

  root.addEventListener('click', function (ev) {
    var edit = ev.target.closest && ev.target.closest('[data-edit]');
    if (edit) {
      P.api('GET', '/api/v1/actions/' + encodeURIComponent(edit.getAttribute('data-edit'))).then(function (a) {
        P.clearErrors(form);
        fill(a);
        form.scrollIntoView({ block: 'start' });
        form.elements.title.focus();
      }, function (err) { P.toast(err.message); });
      return;
    }
    var test = ev.target.closest && ev.target.closest('[data-test]');
    if (test && testForm) {
      testForm.elements.action.value = test.getAttribute('data-test');
      loadParams();
      d.getElementById('test-panel').scrollIntoView({ block: 'start' });
      testForm.elements.action.focus();
    }
  });

  // ---- the test panel ------------------------------------------------------------------
  var testForm = d.getElementById('test-form');
  var current = null;

  function paramField(name, schema, required) {
    var id = 't-p-' + name;
    var wrap = P.el('div', 'field');
    var label = P.el('label', null, name + (required ? '' : ' (optional)'));
    label.htmlFor = id;
    wrap.appendChild(label);
    var input;
    if (schema.enum || schema.type === 'boolean') {
      input = d.createElement('select');
      input.appendChild(P.el('option', null, ''));
      (schema.enum || [true, false]).forEach(function (v) {
        var o = P.el('option', null, String(v));
        o.value = JSON.stringify(v);
        input.appendChild(o);
      });
      input.setAttribute('data-json', '1');
    } else {
      input = d.createElement('input');
      input.type = 'text';
      input.autocomplete = 'off';
      if (schema.type === 'integer' || schema.type === 'number') input.inputMode = 'decimal';
    }
    input.id = id;
    input.name = 'arguments.' + name;
    input.setAttribute('data-param', name);
    input.setAttribute('data-kind', schema.type || 'string');
    if (schema.description) {
      var help = P.el('p', 'help', schema.description);
      help.id = id + '-help';
      input.setAttribute('aria-describedby', help.id);
      wrap.appendChild(input);
      wrap.appendChild(help);
    } else {
      wrap.appendChild(input);
    }
    return wrap;
  }

  function loadParams() {
    var box = d.getElementById('t-params');
    var id = testForm.elements.action.value;
    box.textContent = '';
    current = null;
    P.api('GET', '/api/v1/actions/' + encodeURIComponent(id)).then(function (a) {
      current = a;
      var props = (a.parameters || {}).properties || {};
      var required = (a.parameters || {}).required || [];
      var sources = a.sources || {};
      var shown = 0;
      Object.keys(props).forEach(function (name) {
        var source = sources[name] || 'model';
        if (source !== 'model') return;  // porch fills these: identity, conversation, secrets
        box.appendChild(paramField(name, props[name], required.indexOf(name) >= 0));
        shown++;
      });
      var filled = Object.keys(props).filter(function (n) { return (sources[n] || 'model') !== 'model'; });
      if (filled.length) {
        box.appendChild(P.el('p', 'muted small', 'Filled by porch: ' + filled.map(function (n) { return n + ' (' + sources[n] + ')'; }).join(', ') + '.'));
      } else if (!shown) {
        box.appendChild(P.el('p', 'muted small', 'This action takes no parameters.'));
      }
    }, function (err) { box.appendChild(P.el('p', 'form-error', err.message)); });
  }

  function argValue(input) {
    var raw = input.value;
    if (raw.trim() === '') return undefined;
    if (input.getAttribute('data-json')) return JSON.parse(raw);
    var kind = input.getAttribute('data-kind');
    if ((kind === 'integer' || kind === 'number') && raw.trim() !== '' && !isNaN(Number(raw))) return Number(raw);
    return raw;
  }

  function show(id, value) {
    d.getElementById(id).textContent = value == null || value === '' ? '—' : value;
  }

  function showResult(r) {
    var ok = !r.error_class;
    var outcome = d.getElementById('r-outcome');
    outcome.textContent = '';
    var badge = P.el('span', 'badge ' + (ok ? 'st-succeeded' : 'st-failed'), ok ? 'Succeeded' : 'Failed: ' + r.error_class);
    badge.setAttribute('data-testid', 'test-outcome');
    outcome.appendChild(badge);
    if (r.error) outcome.appendChild(P.el('span', 'src-sub small break', r.error));
    show('r-status', r.status);
    show('r-duration', r.duration_ms + ' ms');
    show('r-visitor', r.visitor_text);
    var req = r.request;
    show('r-request', req ? req.method + ' ' + req.url + '\n' + Object.keys(req.headers || {}).map(function (k) {
      return k + ': ' + req.headers[k];
    }).join('\n') + (req.body ? '\n\n' + req.body : '') : 'No request was sent.');
    show('r-projected', r.projected === null || r.projected === undefined ? '' : JSON.stringify(r.projected, null, 2));
    show('r-response', r.response === null || r.response === undefined ? '' : (typeof r.response === 'string' ? r.response : JSON.stringify(r.response, null, 2)));
    d.getElementById('test-result').hidden = false;
  }

  if (testForm) {
    var who = d.getElementById('t-who');
    testForm.elements.action.addEventListener('change', loadParams);
    Array.prototype.forEach.call(testForm.querySelectorAll('input[name=as]'), function (r) {
      r.addEventListener('change', function () { who.hidden = !d.getElementById('t-verified').checked; });
    });
    testForm.addEventListener('submit', function (ev) {
      ev.preventDefault();
      if (testForm.getAttribute('aria-busy') === 'true' || !current) return;
      P.clearErrors(testForm);
      var args = {};
      Array.prototype.forEach.call(testForm.querySelectorAll('[data-param]'), function (input) {
        var v = argValue(input);
        if (v !== undefined) args[input.getAttribute('data-param')] = v;
      });
      var body = { arguments: args };
      if (d.getElementById('t-verified').checked) {
        var problems = [];
        var parsed = {};
        parseJson(testForm, ['claims'], parsed, problems);
        if (problems.length) { fail(testForm, null, problems); return; }
        body.visitor = { user_id: testForm.elements.user_id.value.trim() || null, claims: parsed.claims || {} };
        if (!body.visitor.user_id && !Object.keys(body.visitor.claims).length) {
          fail(testForm, null, [{ field: 'user_id', message: 'A verified visitor needs a user id or claims.' }]);
          return;
        }
      }
      busy(testForm, true);
      P.api('POST', '/api/v1/actions/' + encodeURIComponent(current.id) + '/test', body).then(function (r) {
        busy(testForm, false);
        showResult(r);
      }, function (err) {
        busy(testForm, false);
        fail(testForm, err);
      });
    });
    loadParams();
  }

  // ---- secrets -------------------------------------------------------------------------
  var secretForm = d.getElementById('secret-form');
  secretForm.addEventListener('submit', function (ev) {
    ev.preventDefault();
    P.clearErrors(secretForm);
    var name = secretForm.elements.name.value.trim();
    var value = secretForm.elements.value;
    var problems = [];
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) problems.push({ field: 'name', message: 'Letters, digits and _, not starting with a digit.' });
    if (!value.value) problems.push({ field: 'value', message: 'Enter the value.' });
    if (problems.length) { fail(secretForm, null, problems); return; }
    busy(secretForm, true);
    P.api('PUT', '/api/v1/widgets/' + WID + '/secrets/' + encodeURIComponent(name), { value: value.value }).then(function () {
      value.value = '';  // write-only: it is not kept on the page
      location.reload();
    }, function (err) {
      busy(secretForm, false);
      fail(secretForm, err);
    });
  });

  // ---- OpenAPI import ------------------------------------------------------------------
  var importForm = d.getElementById('import-form');
  var file = d.getElementById('i-file');
  file.addEventListener('change', function () {
    var f = file.files && file.files[0];
    if (!f) return;
    if (f.size > 1048576) { fail(importForm, null, [{ field: 'document', message: 'The file is over 1 MB.' }]); return; }
    var reader = new FileReader();
    reader.onload = function () { importForm.elements.document.value = String(reader.result || ''); };
    reader.onerror = function () { fail(importForm, null, [{ field: 'document', message: 'The file could not be read.' }]); };
    reader.readAsText(f);
  });
  importForm.addEventListener('submit', function (ev) {
    ev.preventDefault();
    P.clearErrors(importForm);
    var text = importForm.elements.document.value;
    if (!text.trim()) { fail(importForm, null, [{ field: 'document', message: 'Paste a document or choose its file.' }]); return; }
    var body = { document: text };
    var base = importForm.elements.base_url.value.trim();
    if (base) body.base_url = base;
    busy(importForm, true);
    P.api('POST', '/api/v1/widgets/' + WID + '/actions/import', body).then(function (r) {
      busy(importForm, false);
      var list = d.getElementById('import-drafts');
      list.textContent = '';
      (r.actions || []).forEach(function (item) {
        var li = P.el('li', 'result');
        var head = li.appendChild(P.el('p'));
        head.appendChild(P.el('strong', null, item.action.title));
        head.appendChild(d.createTextNode(' '));
        head.appendChild(P.el('code', null, item.action.slug));
        li.appendChild(P.el('p', 'small break', item.action.method + ' ' + item.action.url));
        (item.notes || []).forEach(function (n) { li.appendChild(P.el('p', 'muted small', n)); });
        list.appendChild(li);
      });
      d.getElementById('import-result').hidden = false;
      P.toast((r.actions || []).length + ' draft(s) created, disabled until you enable them.');
    }, function (err) {
      busy(importForm, false);
      fail(importForm, err);
    });
  });
})(window, document);
