/* Webhooks: add one (its events are a checkbox group, which app.js's data-api forms cannot
   send as a list), show its signing secret once, and list it without a reload (which would
   lose the secret). Every server text goes in through textContent. */
(function (w, d) {
  'use strict';
  var P = w.Porch;
  var form = d.getElementById('webhook-form');
  if (!P || !form) return;
  var rootMeta = d.querySelector('meta[name="porch-root"]');
  var PAGES = (rootMeta ? rootMeta.getAttribute('content') || '' : '') + '/app/webhooks';

  function checkedEvents() {
    return Array.prototype.filter.call(form.querySelectorAll('input[name=events]'), function (el) {
      return el.checked;
    }).map(function (el) { return el.value; });
  }

  function actionForm(hook, method, label, extraClass) {
    var f = d.createElement('form');
    f.className = 'hook-action';
    f.setAttribute('data-api', '/api/v1/webhooks/' + encodeURIComponent(hook.id));
    f.setAttribute('data-method', method);
    var box = P.el('div', 'form-error');
    box.setAttribute('role', 'alert');
    box.hidden = true;
    f.appendChild(box);
    var btn = P.el('button', 'btn small' + (extraClass ? ' ' + extraClass : ''), label);
    btn.type = 'submit';
    f.appendChild(btn);
    return f;
  }

  function row(hook) {
    var tr = d.createElement('tr');
    tr.setAttribute('data-hook', hook.id);
    var logUrl = PAGES + '/' + encodeURIComponent(hook.id);

    var urlCell = P.el('td', 'hook-url');
    var link = P.el('a', null, hook.url);
    link.href = logUrl;
    urlCell.appendChild(link);
    if (hook.description) urlCell.appendChild(P.el('span', 'src-sub muted small', hook.description));
    tr.appendChild(urlCell);

    var eventsCell = P.el('td');
    var list = P.el('ul', 'hook-event-list');
    (hook.events || []).forEach(function (name) {
      var li = d.createElement('li');
      li.appendChild(P.el('code', null, name));
      list.appendChild(li);
    });
    eventsCell.appendChild(list);
    tr.appendChild(eventsCell);

    var statusCell = P.el('td');
    statusCell.appendChild(P.el('span', 'badge st-ready', 'Active'));
    tr.appendChild(statusCell);
    tr.appendChild(P.el('td', 'nowrap', P.when(hook.created_at)));

    var actions = P.el('td', 'actions');
    var logLink = P.el('a', 'btn small', 'Delivery log');
    logLink.href = logUrl;
    actions.appendChild(logLink);
    var pause = actionForm(hook, 'PATCH', 'Pause');
    pause.setAttribute('data-then', 'reload');
    pause.setAttribute('data-testid', 'toggle-webhook');
    var active = d.createElement('input');
    active.type = 'checkbox';
    active.name = 'active';
    active.hidden = true;
    active.setAttribute('data-type', 'bool');
    pause.insertBefore(active, pause.lastChild);
    actions.appendChild(pause);
    var del = actionForm(hook, 'DELETE', 'Delete', 'danger-ghost');
    del.setAttribute('data-then', 'go:' + PAGES);
    del.setAttribute('data-confirm', 'Delete the webhook to ' + hook.url + ' and its delivery log? Events stop going there at once.');
    del.setAttribute('data-confirm-ok', 'Delete');
    actions.appendChild(del);
    tr.appendChild(actions);
    return tr;
  }

  function created(hook) {
    d.getElementById('secret-value').textContent = hook.secret || '';
    var reveal = d.getElementById('secret-reveal');
    reveal.hidden = false;
    reveal.scrollIntoView({ block: 'nearest' });
    form.reset();
    d.getElementById('hooks-body').appendChild(row(hook));
    d.getElementById('hooks-table').hidden = false;
    d.getElementById('hooks-empty').hidden = true;
  }

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    if (form.getAttribute('aria-busy') === 'true') return;
    P.clearErrors(form);
    var events = checkedEvents();
    if (!events.length) {
      P.showErrors(form, { message: 'Pick at least one event.', details: [] });
      return;
    }
    var button = form.querySelector('button[type=submit]');
    button.disabled = true;
    form.setAttribute('aria-busy', 'true');
    P.api('POST', '/api/v1/webhooks', {
      url: form.elements.namedItem('url').value.trim(),
      events: events,
      description: form.elements.namedItem('description').value.trim()
    }).then(created, function (err) {
      P.showErrors(form, err);
    }).then(function () {
      form.removeAttribute('aria-busy');
      button.disabled = false;
    });
  });
})(window, document);
