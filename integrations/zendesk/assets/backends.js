/*
 * casefile ticket sidebar: the two backends (window.casefile.backends), one interface.
 *
 * standalone: straight to the service that served the page, bearer token, live SSE progress.
 * zendesk: through ZAF's client.request with a signed JWT (secure setting), polling events,
 * because Zendesk's proxy does not stream. Both build get/confirm/feedback from investigationCalls.
 */
(function () {
  'use strict';

  var dom = window.casefile.dom;
  var $ = dom.$;
  var TERMINAL = { done: true, failed: true, interrupted: true };
  var POLL_MS = 1200;
  var fragment = new URLSearchParams(window.location.hash.replace(/^#/, ''));

  // ------------------------------------------------------------------ backends

  function standaloneBackend() {
    // The service is the page's own origin, never one named in the URL: a crafted link
    // (#service=… or ?service=…) would otherwise receive the stored bearer token.
    var base = window.location.origin;
    var tokenInput = $('token');
    tokenInput.value = fragment.get('token') || window.sessionStorage.getItem('casefile-token') || '';
    // The token does not stay in the address bar or the history.
    if (fragment.has('token')) window.history.replaceState(null, '', window.location.pathname + window.location.search);

    function headers(extra) {
      var token = tokenInput.value.trim();
      if (token) window.sessionStorage.setItem('casefile-token', token);
      var h = { Authorization: 'Bearer ' + token };
      for (var k in extra || {}) h[k] = extra[k];
      return h;
    }

    async function call(method, path, body) {
      var response = await fetch(base + path, {
        method: method,
        headers: headers(body ? { 'Content-Type': 'application/json' } : {}),
        body: body ? JSON.stringify(body) : undefined,
      });
      var data = await response.json().catch(function () { return {}; });
      if (!response.ok) {
        var err = (data && data.error) || {};
        throw new Error(err.message || ('HTTP ' + response.status));
      }
      return data;
    }

    return Object.assign(investigationCalls(call), {
      mode: 'standalone',
      start: function () {
        var zendeskId = $('zendesk-id').value.trim();
        if (zendeskId) return call('POST', '/v1/investigations', { zendesk_ticket_id: Number(zendeskId) });
        var raw = $('ticket-input').value.trim();
        var ticket;
        try {
          ticket = JSON.parse(raw);
        } catch (e) {
          return Promise.reject(new Error('the ticket is not valid JSON'));
        }
        return call('POST', '/v1/investigations', ticket);
      },
      // Server-Sent Events read with fetch, so the token travels in a header, not in the URL.
      follow: async function (id, onEvent) {
        var response = await fetch(base + '/v1/investigations/' + encodeURIComponent(id) + '/events', {
          headers: headers({ Accept: 'text/event-stream' }),
        });
        if (!response.ok || !response.body) throw new Error('event stream unavailable (HTTP ' + response.status + ')');
        var reader = response.body.getReader();
        var decoder = new TextDecoder();
        var buffer = '';
        for (;;) {
          var chunk = await reader.read();
          if (chunk.done) return;
          buffer += decoder.decode(chunk.value, { stream: true });
          var cut;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            var frame = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            var kind = '', data = '';
            frame.split('\n').forEach(function (line) {
              if (line.indexOf('event: ') === 0) kind = line.slice(7);
              else if (line.indexOf('data: ') === 0) data += line.slice(6);
            });
            if (!kind) continue;
            var parsed = data ? JSON.parse(data) : {};
            if (kind === 'end') { reader.cancel(); return; }
            onEvent(kind, parsed);
          }
        }
      },
      insertReply: function (reply) {
        var box = $('reply-box');
        box.value = box.value ? box.value + '\n\n' + reply : reply;
        return Promise.resolve();
      },
    });
  }

  // What both backends ask of an investigation, each over its own transport: send(method, path, body)
  // is fetch with the pasted token, or the Zendesk proxy with a signed JWT.
  function investigationCalls(send) {
    function path(id, rest) { return '/v1/investigations/' + encodeURIComponent(id) + (rest || ''); }
    return {
      get: function (id) { return send('GET', path(id)); },
      confirm: function (id, accountId) { return send('POST', path(id, '/confirm-account'), { account_id: accountId }); },
      feedback: function (id, body) { return send('POST', path(id, '/feedback'), body); },
    };
  }

  // The service URL of the Zendesk app comes from its installation settings only, and must be https.
  function serviceFromSettings(settings) {
    try {
      var url = new URL(String(settings.service_url || ''));
      return url.protocol === 'https:' ? url.origin + url.pathname.replace(/\/$/, '') : null;
    } catch (e) {
      return null;
    }
  }

  function zendeskBackend(client, settings, user, account) {
    var base = serviceFromSettings(settings);
    if (!base) throw new Error('the app setting service_url must be an https URL');
    // The service checks both: a JWT is for this Zendesk (iss) and this app (aud).
    var issuer = 'https://' + ((account && account.subdomain) || '') + '.zendesk.com';

    function request(method, path, body) {
      var options = {
        url: base + path,
        type: method,
        dataType: 'json',
        cors: false,
        secure: true,
        headers: { Authorization: 'Bearer {{jwt.token}}' },
        jwt: {
          algorithm: 'HS256',
          secret_key: '{{setting.shared_secret}}',
          expiry: 300,
          claims: { iss: issuer, aud: 'casefile', email: user && user.email, sub: user && String(user.id) },
        },
      };
      if (body) {
        options.contentType = 'application/json';
        options.data = JSON.stringify(body);
      }
      return client.request(options).catch(function (failure) {
        var err = failure && failure.responseJSON && failure.responseJSON.error;
        throw new Error((err && err.message) || 'the casefile service did not answer');
      });
    }

    return Object.assign(investigationCalls(request), {
      mode: 'zendesk',
      start: function () {
        return client.get('ticket.id').then(function (data) {
          return request('POST', '/v1/investigations', { zendesk_ticket_id: data['ticket.id'] });
        });
      },
      // The proxy cannot stream: poll the stored events (JSON) until the investigation ends.
      follow: async function (id, onEvent) {
        var after = 0;
        for (;;) {
          var page = await request('GET', '/v1/investigations/' + encodeURIComponent(id) + '/events?after=' + after + '&format=json');
          (page.events || []).forEach(function (item) {
            after = Math.max(after, item.seq);
            onEvent(item.event.kind, item.event);
          });
          if (TERMINAL[page.status]) return;
          await new Promise(function (resolve) { setTimeout(resolve, POLL_MS); });
        }
      },
      insertReply: function (reply) { return client.invoke('comment.appendText', reply); },
    });
  }

  window.casefile.backends = { standaloneBackend: standaloneBackend, zendeskBackend: zendeskBackend };
})();
