/* The Answers page: show the playground's answer and why (the passages, their scores, the
   curated answer that applied). Every server text goes in through textContent. */
(function (w, d) {
  'use strict';
  var P = w.Porch;
  var form = d.getElementById('playground-form');
  if (!P || !form) return;
  form.addEventListener('porch:played', function (e) {
    var data = e.detail || {};
    var box = d.getElementById('play-result');
    d.getElementById('play-answer').textContent = (data.message || {}).content || '';
    var why = [];
    var curated = data.curated;
    if (curated && curated.applied && curated.applied.length) {
      why.push('Curated answer (' + curated.mode + ', score ' + curated.matches[0].score + ')');
    } else if ((data.retrieval || {}).refused) {
      why.push('Nothing relevant found: the assistant says it does not know');
    } else {
      why.push('Answered from the knowledge base');
    }
    if (data.handoff) why.push('offers a person');
    why.push(data.latency_ms + ' ms');
    d.getElementById('play-why').textContent = why.join(' · ');
    d.getElementById('play-threshold').textContent = String((data.retrieval || {}).threshold);
    var body = d.getElementById('play-candidates');
    body.textContent = '';
    ((data.retrieval || {}).candidates || []).forEach(function (c) {
      var tr = d.createElement('tr');
      tr.appendChild(P.el('td', null, (c.title ? c.title + ': ' : '') + c.text));
      tr.appendChild(P.el('td', 'nowrap', String(c.score)));
      tr.appendChild(P.el('td', null, c.used ? 'yes' : 'no'));
      body.appendChild(tr);
    });
    box.hidden = false;
  });
})(window, document);
