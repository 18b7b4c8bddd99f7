/* porch's tiny markdown renderer for assistant replies.
 *
 * Safety by construction: the output is built only from createElement and text nodes, so
 * whatever the model writes (<script>, <img onerror>, javascript: links) stays inert text.
 * Supported: paragraphs, line breaks, headings (as bold lines), - / 1. lists, > quotes,
 * ``` code blocks, `code`, **bold**, *italic*, [links](https://…), bare https:// URLs and
 * citations like [1] that point at the answer's sources.
 */
(function (w) {
  'use strict';

  var INLINE = new RegExp([
    '(`+)([^`]+?)\\1', //                       1,2 code
    '\\[([^\\]\\n]{1,500})\\]\\(([^)\\s]{1,2000})\\)', // 3,4 link
    '\\[(\\d{1,2}(?:\\s*,\\s*\\d{1,2})*)\\]', // 5 citation(s)
    '\\*\\*(?=\\S)([^\\n]*?\\S)\\*\\*', //      6 bold
    '\\*(?=[^\\s*])([^*\\n]*?[^\\s*])\\*', //   7 italic
    '(https?:\\/\\/[^\\s<>"]*[^\\s<>"().,;:!?\\]\'])' // 8 bare URL
  ].join('|'), 'g');

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text != null) n.textContent = text;
    return n;
  }

  /** An http(s) URL as a string, or null for anything else (javascript:, data:, relative…). */
  function safeUrl(raw) {
    try {
      var u = new URL(raw);
      return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
    } catch (e) {
      return null;
    }
  }

  function link(href, text) {
    var a = el('a', null, text);
    a.href = href;
    a.target = '_blank';
    a.rel = 'noopener noreferrer nofollow';
    return a;
  }

  function inline(parent, text, opts, depth) {
    var last = 0;
    var m;
    var re = new RegExp(INLINE.source, 'g');
    while ((m = re.exec(text))) {
      if (m.index > last) parent.appendChild(document.createTextNode(text.slice(last, m.index)));
      last = re.lastIndex;
      if (m[2] != null) {
        parent.appendChild(el('code', null, m[2]));
      } else if (m[3] != null) {
        var href = safeUrl(m[4]);
        if (href) inline(parent.appendChild(link(href, '')), m[3], opts, depth + 1);
        else parent.appendChild(document.createTextNode(m[0]));
      } else if (m[5] != null) {
        var shown = {};
        m[5].split(',').forEach(function (num) {
          var n = parseInt(num, 10);
          var src = opts.sources && opts.sources[n - 1];
          if (opts.cite) {
            // The marker as the listed sources number it; null: it cites nothing listed.
            var c = opts.cite(n);
            if (!c || shown[c.n]) return;
            n = c.n;
            src = c.src;
          }
          shown[n] = 1;
          var sup = el('sup', 'cite');
          var url = src && src.url && safeUrl(src.url);
          var label = '[' + n + ']';
          if (url) {
            var a = sup.appendChild(link(url, label));
            a.title = src.title || url;
          } else {
            sup.textContent = label;
            if (src && src.title) sup.title = src.title;
          }
          parent.appendChild(sup);
        });
      } else if (m[6] != null) {
        if (depth < 3) inline(parent.appendChild(el('strong')), m[6], opts, depth + 1);
        else parent.appendChild(el('strong', null, m[6]));
      } else if (m[7] != null) {
        if (depth < 3) inline(parent.appendChild(el('em')), m[7], opts, depth + 1);
        else parent.appendChild(el('em', null, m[7]));
      } else if (m[8] != null) {
        var bare = safeUrl(m[8]);
        parent.appendChild(bare ? link(bare, m[8]) : document.createTextNode(m[8]));
      }
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  /** Lines joined with <br>, each line's inline markdown rendered. */
  function lines(parent, list, opts) {
    list.forEach(function (line, i) {
      if (i) parent.appendChild(el('br'));
      inline(parent, line, opts, 0);
    });
    return parent;
  }

  var FENCE = /^\s{0,3}(```|~~~)/;
  var ITEM = /^\s{0,6}([-*+•]|\d{1,3}[.)])\s+(.*)$/;
  var HEADING = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/;
  var QUOTE = /^\s{0,3}>\s?(.*)$/;

  /** Render markdown into a DocumentFragment. opts.sources: [{title, url}] for [n] citations. */
  function render(src, opts) {
    opts = opts || {};
    var frag = document.createDocumentFragment();
    var rows = String(src || '').replace(/\r\n?/g, '\n').split('\n');
    var i = 0;
    var para = [];
    var flush = function () {
      if (para.length) frag.appendChild(lines(el('p'), para, opts));
      para = [];
    };
    while (i < rows.length) {
      var row = rows[i];
      var m;
      if (FENCE.test(row)) {
        flush();
        var fence = FENCE.exec(row)[1];
        var code = [];
        i++;
        while (i < rows.length && rows[i].trim().indexOf(fence) !== 0) code.push(rows[i++]);
        i++;
        var pre = el('pre');
        pre.appendChild(el('code', null, code.join('\n')));
        pre.tabIndex = 0;
        frag.appendChild(pre);
        continue;
      }
      if (!row.trim()) { flush(); i++; continue; }
      if ((m = HEADING.exec(row))) {
        flush();
        inline(frag.appendChild(el('p', 'h')).appendChild(el('strong')), m[1], opts, 1);
        i++;
        continue;
      }
      if ((m = QUOTE.exec(row))) {
        flush();
        var quoted = [];
        while (i < rows.length && (m = QUOTE.exec(rows[i]))) { quoted.push(m[1]); i++; }
        frag.appendChild(el('blockquote')).appendChild(lines(el('p'), quoted, opts));
        continue;
      }
      if ((m = ITEM.exec(row))) {
        flush();
        var ordered = /\d/.test(m[1]);
        var list = el(ordered ? 'ol' : 'ul');
        if (ordered && parseInt(m[1], 10) > 1) list.start = parseInt(m[1], 10);
        while (i < rows.length && (m = ITEM.exec(rows[i])) && /\d/.test(m[1]) === ordered) {
          var body = [m[2]];
          i++;
          // Indented lines continue the item.
          while (i < rows.length && /^\s{2,}\S/.test(rows[i]) && !ITEM.test(rows[i])) {
            body.push(rows[i].trim());
            i++;
          }
          lines(list.appendChild(el('li')), body, opts);
        }
        frag.appendChild(list);
        continue;
      }
      para.push(row);
      i++;
    }
    flush();
    return frag;
  }

  w.PorchMarkdown = { render: render, safeUrl: safeUrl };
})(window);
