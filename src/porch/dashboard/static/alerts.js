/* Alerts on the live inbox pages: while the tab is in the background, a new handoff or a
   visitor's message counts in the tab title ("(2) …") and on the favicon, and raises a
   browser notification when the agent has allowed them. Coming back to the tab clears it.
   Fed by inbox.js, which re-dispatches every socket event as `porch:inbox`. */
(function (w, d) {
  'use strict';
  var title = d.title;
  var icon = d.querySelector('link[rel="icon"]');
  var plainIcon = icon ? icon.href : null;
  var count = 0;

  function away() { return d.visibilityState !== 'visible'; }

  function badge(n) {
    if (!icon) return;
    if (!n) { icon.type = 'image/svg+xml'; icon.href = plainIcon; return; }
    var c = d.createElement('canvas');
    c.width = c.height = 32;
    var g = c.getContext('2d');
    if (!g) return;
    g.fillStyle = '#2563eb';
    g.beginPath(); g.arc(16, 16, 14, 0, 2 * Math.PI); g.fill();
    g.fillStyle = '#dc2626';
    g.beginPath(); g.arc(22, 10, 10, 0, 2 * Math.PI); g.fill();
    g.fillStyle = '#fff';
    g.font = 'bold 13px sans-serif';
    g.textAlign = 'center'; g.textBaseline = 'middle';
    g.fillText(n > 9 ? '9+' : String(n), 22, 11);
    icon.type = 'image/png';
    icon.href = c.toDataURL('image/png');
  }

  function show() {
    d.title = count ? '(' + count + ') ' + title : title;
    d.documentElement.setAttribute('data-alerts', String(count));
    badge(count);
  }

  function worthy(f) {
    if (f.type === 'handoff.requested') return 'A visitor asks for a person';
    if (f.type === 'message.created' && f.message && f.message.role === 'user') return 'New message: ' + (f.message.content || '').slice(0, 80);
    return null;
  }

  d.addEventListener('porch:inbox', function (e) {
    var f = e.detail && e.detail.frame;
    var text = f && worthy(f);
    if (!text || !away()) return;
    count += 1;
    show();
    if (w.Notification && w.Notification.permission === 'granted') {
      try { new w.Notification('porch', { body: text, tag: 'porch-' + f.conversation_id }); } catch (x) { /* not allowed here */ }
    }
  });
  d.addEventListener('visibilitychange', function () {
    if (!away() && count) { count = 0; show(); }
  });
})(window, document);
