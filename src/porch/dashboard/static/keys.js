/* API keys: show a new key once, and list it without a reload (which would lose it). */
(function (w, d) {
  'use strict';
  var form = d.getElementById('key-form');
  if (!form) return;
  form.addEventListener('porch:key-created', function (e) {
    var key = e.detail || {};
    var P = w.Porch;
    d.getElementById('key-value').textContent = key.key || '';
    var reveal = d.getElementById('key-reveal');
    reveal.hidden = false;
    reveal.scrollIntoView({ block: 'nearest' });
    form.reset();

    var row = d.createElement('tr');
    row.appendChild(P.el('td', null, key.name));
    var cell = P.el('td');
    cell.appendChild(P.el('code', null, 'porch_sk_…' + (key.last4 || '')));
    row.appendChild(cell);
    row.appendChild(P.el('td', 'nowrap', P.when(key.created_at)));
    row.appendChild(P.el('td', 'nowrap', 'Never'));
    var actions = P.el('td', 'actions');
    var revoke = d.createElement('form');
    revoke.setAttribute('data-api', '/api/v1/api-keys/' + encodeURIComponent(key.id));
    revoke.setAttribute('data-method', 'DELETE');
    revoke.setAttribute('data-then', 'reload');
    revoke.setAttribute('data-confirm', 'Revoke “' + key.name + '”? Anything using it stops working at once.');
    revoke.setAttribute('data-confirm-ok', 'Revoke');
    var btn = P.el('button', 'btn small danger-ghost', 'Revoke');
    btn.type = 'submit';
    revoke.appendChild(btn);
    actions.appendChild(revoke);
    row.appendChild(actions);
    d.getElementById('keys-body').appendChild(row);
    d.getElementById('keys-table').hidden = false;
    d.getElementById('keys-empty').hidden = true;
  });
})(window, document);
