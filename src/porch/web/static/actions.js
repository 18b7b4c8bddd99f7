/* porch chat page: the owner's actions in the transcript. A progress line while a call runs,
 * a chip once it is done, a confirmation card while porch waits for the visitor's yes or no.
 * Each call is one node (data-call), updated in place by later events: a card answered by
 * typing "yes" turns into the chip where it stood. */
(function (w, d) {
  'use strict';

  /** o: {t, el, answer(callId, body) → Promise<{state, text}>, reply(text), focus()}. */
  function create(o) {
    var t = o.t;
    var el = o.el;

    function find(callId) {
      return d.querySelector('.act[data-call="' + String(callId).replace(/"/g, '') + '"]');
    }

    /** The container of a message's calls, above its text. */
    function box(msg) {
      var b = msg.querySelector('.acts');
      if (!b) {
        b = el('div', 'acts');
        msg.insertBefore(b, msg.querySelector('.bubble'));
      }
      return b;
    }

    function progress(a) {
      var n = el('p', 'act act-run');
      n.appendChild(el('span', 'act-spin')).setAttribute('aria-hidden', 'true');
      n.appendChild(el('span', null, a.text || t('actionRunning')));
      return n;
    }

    function waiting(a) {
      // Held for a team member: nothing for the visitor to answer, and not a failure.
      var n = el('p', 'act act-chip act-wait');
      n.appendChild(el('span', 'act-mark', '\u231B')).setAttribute('aria-hidden', 'true');
      n.appendChild(el('span', 'sr-only', t('actionWaiting') + ': '));
      n.appendChild(el('span', null, a.text || t('actionWaiting')));
      return n;
    }

    function chip(a) {
      var ok = a.state === 'succeeded';
      var n = el('p', 'act act-chip' + (ok ? '' : ' act-failed'));
      // A mark of its own shape and a word for screen readers: not colour alone.
      n.appendChild(el('span', 'act-mark', ok ? '\u2713' : '\u2715')).setAttribute('aria-hidden', 'true');
      n.appendChild(el('span', 'sr-only', t(ok ? 'actionDone' : 'actionFailed') + ': '));
      n.appendChild(el('span', null, a.text || t(ok ? 'actionDone' : 'actionFailed')));
      return n;
    }

    function card(a) {
      var n = el('div', 'act act-card');
      n.setAttribute('role', 'group');
      n.setAttribute('aria-label', t('actionConfirmTitle'));
      n.appendChild(el('p', 'act-what', a.text || t('actionConfirmTitle')));
      var args = a.arguments || {};
      var keys = Object.keys(args);
      if (keys.length) {
        var dl = n.appendChild(el('dl', 'act-args'));
        keys.forEach(function (k) {
          dl.appendChild(el('dt', null, k.replace(/_/g, ' ')));
          dl.appendChild(el('dd', null, String(args[k])));
        });
      }
      var row = n.appendChild(el('div', 'act-buttons'));
      var note = el('p', 'act-note');
      note.setAttribute('role', 'status');
      [['confirm', 'actionConfirm', 'act-yes'], ['decline', 'actionDecline', 'act-no']].forEach(function (b) {
        var btn = row.appendChild(el('button', b[2], t(b[1])));
        btn.type = 'button';
        btn.setAttribute('data-decision', b[0]);
        btn.addEventListener('click', function () { decide(n, a, b[0], note); });
      });
      n.appendChild(note);
      return n;
    }

    function decide(n, a, decision, note) {
      var buttons = n.querySelectorAll('button');
      var enable = function (on) { buttons.forEach(function (b) { b.disabled = !on; }); };
      enable(false);
      n.setAttribute('aria-busy', 'true');
      note.textContent = t('actionSending');
      var body = { decision: decision };
      if (a.arguments_hash) body.arguments_hash = a.arguments_hash;
      o.answer(a.call_id, body).then(function (out) {
        var done = out.state === 'succeeded';
        show(null, { call_id: a.call_id, slug: a.slug, state: done ? 'succeeded' : 'failed', text: out.text });
        o.reply(out.text);
        o.focus();
      }, function (err) {
        n.removeAttribute('aria-busy');
        var gone = err && (err.status === 409 || err.status === 410);
        if (!gone) {
          enable(true);
          note.textContent = t('actionNotSent');
          return;
        }
        // Nothing was done, and this card can never be answered again: say why.
        n.classList.add('act-closed');
        n.querySelector('.act-buttons').remove();
        note.textContent = t(err.status === 410 ? 'actionExpired' :
          err.code === 'arguments_changed' ? 'actionChanged' : 'actionAnswered');
        o.focus();
      });
    }

    /** Show a call's state: in place of its earlier node, else in `msg`'s list of calls. */
    function show(msg, a) {
      if (!a || !a.call_id) return;
      var node = a.state === 'confirm' ? card(a) : a.state === 'started' ? progress(a)
        : a.state === 'waiting' ? waiting(a) : chip(a);
      node.setAttribute('data-call', a.call_id);
      node.setAttribute('data-state', a.state);
      var old = find(a.call_id);
      var focused = old && old.contains(d.activeElement);
      if (old) old.parentNode.replaceChild(node, old);
      else if (msg) box(msg).appendChild(node);
      if (focused) o.focus();
    }

    return { show: show };
  }

  w.PorchActions = { create: create };
})(window, document);
