/* porch chat page: calls to the visitor API, errors as {kind, …}, and an SSE reader on fetch. */
(function (w) {
  'use strict';

  /** request(method, path, body?, headers?) → Promise<Response>; rejects with {kind, …}.
   *  kind: offline | network | rate (429) | unavailable (503) | gone (401/404) | forbidden | error
   */
  function client(base, token) {
    function request(method, path, body, extra) {
      var headers = { Accept: 'application/json' };
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      var bearer = token(path);
      if (bearer) headers.Authorization = 'Bearer ' + bearer;
      for (var k in extra || {}) headers[k] = extra[k];
      if (navigator.onLine === false) return Promise.reject({ kind: 'offline' });
      return fetch(base + path, {
        method: method, headers: headers, credentials: 'omit',
        body: body === undefined ? undefined : JSON.stringify(body)
      }).then(function (res) {
        return res.ok ? res : failure(res);
      }, function () {
        throw { kind: navigator.onLine === false ? 'offline' : 'network' };
      });
    }
    return request;
  }

  /** Turn an HTTP error into {kind, status, retryAfter, message} and reject with it. */
  function failure(res) {
    var after = parseInt(res.headers.get('Retry-After') || '', 10);
    var err = { status: res.status, retryAfter: isNaN(after) ? null : after, kind: 'error' };
    if (res.status === 429) err.kind = 'rate';
    else if (res.status === 503) err.kind = 'unavailable';
    else if (res.status === 401 || res.status === 404) err.kind = 'gone';
    else if (res.status === 403) err.kind = 'forbidden';
    return res.json().then(function (b) {
      err.message = b && b.error && b.error.message;
      err.code = b && b.error && b.error.code;
      throw err;
    }, function () { throw err; });
  }

  /** Read an SSE body with fetch's stream: `event:` / `data:` frames, blank-line separated. */
  function readEvents(res, handle) {
    var reader = res.body.getReader();
    var decoder = new TextDecoder();
    var buf = '';
    var frame = function (block) {
      var ev = 'message';
      var data = [];
      block.split(/\r?\n/).forEach(function (line) {
        if (!line || line[0] === ':') return;
        var at = line.indexOf(':');
        var field = at < 0 ? line : line.slice(0, at);
        var value = at < 0 ? '' : line.slice(at + 1).replace(/^ /, '');
        if (field === 'event') ev = value;
        else if (field === 'data') data.push(value);
      });
      if (data.length) handle(ev, JSON.parse(data.join('\n')));
    };
    var pump = function () {
      return reader.read().then(function (r) {
        buf += r.done ? decoder.decode() : decoder.decode(r.value, { stream: true });
        var parts = buf.split(/\r?\n\r?\n/);
        buf = r.done ? '' : parts.pop();
        parts.forEach(function (p) { if (p.trim()) frame(p); });
        if (!r.done) return pump();
      });
    };
    return pump().catch(function (err) {
      try { reader.cancel(); } catch (e) { /* already closed */ }
      throw err && err.kind ? err : { kind: navigator.onLine === false ? 'offline' : 'stream' };
    });
  }

  w.PorchApi = { client: client, readEvents: readEvents };
})(window);
