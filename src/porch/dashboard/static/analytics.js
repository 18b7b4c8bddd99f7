/* Analytics: "Add an answer" says what happened, in place: the form gives way to a note
   with a link to the new source, so the question no longer looks open. */
(function (w, d) {
  'use strict';
  d.addEventListener('porch:answer-added', function (e) {
    var form = e.target;
    var box = form.closest('[data-answer-box]');
    if (!box) return;
    var note = w.Porch.el('p', 'ok-note small');
    note.setAttribute('data-testid', 'answered');
    note.setAttribute('role', 'status');
    note.appendChild(d.createTextNode('Answered: your answer is now a text source on the '));
    var link = note.appendChild(w.Porch.el('a', null, 'Knowledge'));
    var knowledge = d.querySelector('a[href$="/knowledge"]');
    link.href = knowledge ? knowledge.getAttribute('href') : '#';
    note.appendChild(d.createTextNode(' page, and the assistant cites it from now on.'));
    box.replaceWith(note);
    w.Porch.toast('Answer added to the knowledge base.');
  });
})(window, document);
