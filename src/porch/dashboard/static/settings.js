/* Widget settings: after a save, reload the preview and show the server's warnings;
   while a colour is being picked, show it in the preview at once. */
(function (w, d) {
  'use strict';
  var form = d.getElementById('settings-form');
  var frame = d.getElementById('preview');
  if (!form || !frame) return;
  var base = frame.getAttribute('data-src');
  var note = d.getElementById('saved-note');
  var warnings = d.getElementById('widget-warnings');
  var timer = null;

  function show(query) {
    frame.src = base + (query ? '?' + query : '');
  }

  d.getElementById('preview-reload').addEventListener('click', function () {
    show('t=' + Date.now());
  });

  form.elements.namedItem('theme.primary_color').addEventListener('input', function (e) {
    clearTimeout(timer);
    var value = e.target.value;
    timer = setTimeout(function () {
      show('color=' + encodeURIComponent(value) + '&t=' + Date.now());
    }, 250);
  });

  form.addEventListener('input', function () {
    note.textContent = 'Unsaved changes';
    note.classList.remove('ok');
  });

  form.addEventListener('porch:saved', function (e) {
    var widget = e.detail || {};
    note.textContent = 'Saved';
    note.classList.add('ok');
    w.Porch.toast('Settings saved');
    var name = d.getElementById('widget-name');
    if (name && widget.name) name.textContent = widget.name;
    warnings.textContent = '';
    (widget.warnings || []).forEach(function (text) {
      warnings.appendChild(w.Porch.el('p', 'warn', text));
    });
    show('t=' + Date.now());
  });
})(window, document);
