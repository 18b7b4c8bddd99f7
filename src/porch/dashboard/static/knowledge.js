/* Knowledge page: sources from the JSON API, polled every 2 s while any is being ingested;
   re-sync, delete, the add-source tabs and the test-retrieval box. */
(function (w, d) {
  'use strict';
  var root = d.getElementById('knowledge');
  if (!root) return;
  var P = w.Porch;
  var WID = root.getAttribute('data-widget-id');
  var POLL_MS = 2000;
  var BUSY = { pending: true, running: true };
  var LABELS = { pending: 'Queued', running: 'Ingesting', ready: 'Ready', failed: 'Failed' };
  var TYPES = { text: 'Text', url: 'Website', sitemap: 'Sitemap', file: 'File' };

  var body = d.getElementById('sources-body');
  var table = d.getElementById('sources-table');
  var empty = d.getElementById('sources-empty');
  var loading = d.getElementById('sources-loading');
  var live = d.getElementById('sources-live');
  var errorBox = d.getElementById('sources-error');
  var timer = null;
  var lastStatus = {};

  // ---- tabs -----------------------------------------------------------------------------
  var tabs = Array.prototype.slice.call(root.querySelectorAll('[role=tab]'));
  function select(tab, focus) {
    tabs.forEach(function (t) {
      var on = t === tab;
      t.setAttribute('aria-selected', on ? 'true' : 'false');
      t.tabIndex = on ? 0 : -1;
      d.getElementById(t.getAttribute('aria-controls')).hidden = !on;
    });
    if (focus) tab.focus();
  }
  tabs.forEach(function (tab, i) {
    tab.addEventListener('click', function () { select(tab, false); });
    tab.addEventListener('keydown', function (e) {
      var step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
      if (!step) return;
      e.preventDefault();
      select(tabs[(i + step + tabs.length) % tabs.length], true);
    });
  });

  // ---- the list -------------------------------------------------------------------------
  function describe(s) {
    var cell = P.el('td', 'src');
    var title = P.el('span', 'src-title', s.title || s.url || 'Untitled');
    cell.appendChild(title);
    var sub = P.el('span', 'src-sub muted small', TYPES[s.type] || s.type);
    if (s.type !== 'text') {
      // While a sync runs, the stored page count is the last sync's: show this one's so far.
      var busy = s.status === 'running' && s.stats;
      var n = busy ? (s.stats.stored || 0) + (s.stats.unchanged || 0) : s.pages;
      sub.textContent += ' · ' + (busy && !n ? 'reading the first page' : n + (n === 1 ? ' page' : ' pages') + (busy ? ' so far' : ''));
    }
    var failed = s.stats && s.stats.failed;
    if (failed) sub.textContent += ' · ' + failed + ' failed';
    if (s.schedule && s.schedule !== 'off') sub.textContent += ' · re-syncs ' + s.schedule;
    if (s.url && s.url !== s.title) sub.textContent += ' · ' + s.url;
    cell.appendChild(sub);
    return cell;
  }

  function statusCell(s) {
    var cell = P.el('td', 'status-cell');
    var badge = P.el('span', 'badge st-' + s.status, LABELS[s.status] || s.status);
    cell.appendChild(badge);
    if (BUSY[s.status]) {
      var bar = d.createElement('progress');
      bar.max = 1;
      if (s.status === 'running' && s.progress > 0) bar.value = Math.min(1, s.progress);
      bar.setAttribute('aria-label', 'Progress of ' + (s.title || s.url || 'source'));
      cell.appendChild(bar);
      if (s.progress > 0) cell.appendChild(P.el('span', 'small muted', Math.round(s.progress * 100) + '%'));
    }
    if (s.status === 'failed' && s.error) cell.appendChild(P.el('p', 'src-error small', s.error));
    return cell;
  }

  function actions(s) {
    var cell = P.el('td', 'actions');
    var resync = P.el('button', 'btn small ghost', 'Re-sync');
    resync.type = 'button';
    resync.setAttribute('data-action', 'resync');
    resync.setAttribute('data-id', s.id);
    resync.disabled = !!BUSY[s.status];
    resync.setAttribute('aria-label', 'Re-sync ' + (s.title || s.url || 'source'));
    var del = P.el('button', 'btn small danger-ghost', 'Delete');
    del.type = 'button';
    del.setAttribute('data-action', 'delete');
    del.setAttribute('data-id', s.id);
    del.setAttribute('data-title', s.title || s.url || 'this source');
    del.setAttribute('aria-label', 'Delete ' + (s.title || s.url || 'source'));
    cell.appendChild(resync);
    cell.appendChild(del);
    return cell;
  }

  function render(sources) {
    loading.hidden = true;
    body.textContent = '';
    sources.forEach(function (s) {
      var row = d.createElement('tr');
      row.setAttribute('data-source-id', s.id);
      row.setAttribute('data-status', s.status);
      row.appendChild(describe(s));
      row.appendChild(statusCell(s));
      row.appendChild(P.el('td', 'num', s.chunks));
      row.appendChild(P.el('td', 'nowrap', P.when(s.last_synced_at).replace(' UTC', '')));
      row.appendChild(actions(s));
      body.appendChild(row);
    });
    table.hidden = sources.length === 0;
    empty.hidden = sources.length !== 0;
  }

  function announce(sources) {
    var busy = sources.filter(function (s) { return BUSY[s.status]; }).length;
    live.textContent = busy ? busy + ' being ingested…' : '';
    sources.forEach(function (s) {
      var before = lastStatus[s.id];
      if (before && BUSY[before] && !BUSY[s.status]) {
        P.toast((s.title || s.url || 'Source') + ': ' + (LABELS[s.status] || s.status));
      }
      lastStatus[s.id] = s.status;
    });
    return busy > 0;
  }

  function refresh() {
    clearTimeout(timer);
    return P.api('GET', '/api/v1/widgets/' + WID + '/sources').then(function (data) {
      var sources = (data && data.sources) || [];
      errorBox.hidden = true;
      render(sources);
      if (announce(sources)) timer = setTimeout(refresh, POLL_MS);
    }, function (err) {
      loading.hidden = true;
      errorBox.textContent = err.message;
      errorBox.hidden = false;
      timer = setTimeout(refresh, POLL_MS * 2);
    });
  }

  body.addEventListener('click', function (e) {
    var btn = e.target.closest('button[data-action]');
    if (!btn) return;
    var id = encodeURIComponent(btn.getAttribute('data-id'));
    var run;
    if (btn.getAttribute('data-action') === 'resync') {
      btn.disabled = true;
      run = P.api('POST', '/api/v1/sources/' + id + '/resync');
    } else {
      var text = 'Delete “' + btn.getAttribute('data-title') + '” and its passages? The assistant stops using it at once.';
      run = P.confirm(text, 'Delete source').then(function (ok) {
        return ok ? P.api('DELETE', '/api/v1/sources/' + id) : null;
      });
    }
    run.then(refresh, function (err) {
      btn.disabled = false;
      errorBox.textContent = err.message;
      errorBox.hidden = false;
    });
  });

  root.addEventListener('porch:source-added', function (e) {
    var form = e.target;
    form.reset();
    P.toast('Source added');
    refresh();
  });

  // ---- test retrieval -------------------------------------------------------------------
  var search = d.getElementById('search-form');
  var results = d.getElementById('search-results');
  var searchError = d.getElementById('search-error');
  search.addEventListener('submit', function (e) {
    e.preventDefault();
    var q = search.elements.namedItem('q').value.trim();
    if (!q) return;
    searchError.hidden = true;
    results.setAttribute('aria-busy', 'true');
    P.api('GET', '/api/v1/widgets/' + WID + '/search?k=5&q=' + encodeURIComponent(q)).then(function (data) {
      results.textContent = '';
      var hits = (data && data.results) || [];
      if (!hits.length) {
        results.appendChild(P.el('li', 'muted', 'Nothing found. The assistant would say it does not know; add a source that answers this.'));
      }
      hits.forEach(function (h) {
        var item = P.el('li', 'result');
        var head = P.el('div', 'result-head');
        head.appendChild(P.el('strong', null, h.title || 'Untitled'));
        if (h.heading) head.appendChild(P.el('span', 'muted small', ' · ' + h.heading));
        head.appendChild(P.el('span', 'score small', 'score ' + Number(h.score).toFixed(3)));
        item.appendChild(head);
        item.appendChild(P.el('p', 'result-text', h.text));
        results.appendChild(item);
      });
    }, function (err) {
      searchError.textContent = err.message;
      searchError.hidden = false;
    }).then(function () { results.removeAttribute('aria-busy'); });
  });

  refresh();
})(window, document);
