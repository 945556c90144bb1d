/*
 * casefile ticket sidebar.
 *
 * Two ways to run, one page:
 *  - Inside Zendesk (the iframe URL carries origin and app_guid): the ZAF SDK is
 *    loaded, calls go through client.request with secure: true, so Zendesk's proxy
 *    signs a short-lived JWT with the app's secure "shared_secret" setting (the
 *    secret never reaches this page). That proxy does not stream, so the page
 *    starts an investigation and polls its events.
 *  - Standalone, served by `casefile serve` at /app/: calls go straight to the
 *    service with a bearer token (typed in, or passed as #token=... so it never
 *    reaches a server log), and progress arrives live over Server-Sent Events.
 *    A stub client stands in for Zendesk: "insert reply" appends to a reply box.
 *
 * Everything from the ticket, the tools or the model is rendered with
 * textContent, never as HTML, and only http(s) links are made clickable.
 */
(function () {
  'use strict';

  var ZAF_SDK = 'https://static.zdassets.com/zendesk_app_framework_sdk/2.0/zaf_sdk.min.js';
  var TERMINAL = { done: true, failed: true, interrupted: true };
  var POLL_MS = 1200;

  var query = new URLSearchParams(window.location.search);
  var fragment = new URLSearchParams(window.location.hash.replace(/^#/, ''));
  var inZendesk = query.has('origin') && query.has('app_guid');

  function $(id) { return document.getElementById(id); }

  function text(id, value) { $(id).textContent = value == null ? '' : String(value); }

  function el(tag, value, cls) {
    var node = document.createElement(tag);
    if (value != null) node.textContent = String(value);
    if (cls) node.className = cls;
    return node;
  }

  function safeUrl(url) {
    try {
      var parsed = new URL(url);
      return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : null;
    } catch (e) {
      return null;
    }
  }

  function setStatus(message, isError) {
    text('status', message);
    $('status').className = isError ? 'muted error' : 'muted';
  }

  // ------------------------------------------------------------------ backends

  function standaloneBackend() {
    var base = (fragment.get('service') || window.location.origin).replace(/\/$/, '');
    var tokenInput = $('token');
    tokenInput.value = fragment.get('token') || window.sessionStorage.getItem('casefile-token') || '';

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

    return {
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
      get: function (id) { return call('GET', '/v1/investigations/' + encodeURIComponent(id)); },
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
    };
  }

  function zendeskBackend(client, settings, user) {
    var base = String(settings.service_url || '').replace(/\/$/, '');

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
          claims: { email: user && user.email, sub: user && String(user.id) },
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

    return {
      mode: 'zendesk',
      start: function () {
        return client.get('ticket.id').then(function (data) {
          return request('POST', '/v1/investigations', { zendesk_ticket_id: data['ticket.id'] });
        });
      },
      get: function (id) { return request('GET', '/v1/investigations/' + encodeURIComponent(id)); },
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
    };
  }

  // ------------------------------------------------------------------ progress

  var toolItems = {};

  function progressLine(kind, event) {
    var d = (event && event.data) || {};
    switch (kind) {
      case 'investigation_started': return 'Investigating ticket ' + (d.ticket_id || '') + ' with ' + (d.model || 'the model');
      case 'signals_extracted': return 'Account: ' + (d.account_id || 'unresolved') + (d.summary ? ' — ' + d.summary : '');
      case 'runbooks_matched': return 'Runbooks: ' + ((d.runbooks || []).join(', ') || 'none matched');
      case 'model_turn': return 'Model turn ' + (d.turn || '') + (d.summary ? ': ' + d.summary : '');
      case 'diagnosis_rejected': return 'Diagnosis sent back: ' + (d.reason || '');
      case 'fallback': return 'Offline investigator stood in: ' + (d.reason || '');
      case 'diagnosis_ready': return 'Diagnosis ready';
      case 'investigation_failed': return 'Failed: ' + (d.reason || '');
      default: return null;
    }
  }

  function onEvent(kind, event) {
    $('progress-section').hidden = false;
    var d = (event && event.data) || {};
    var list = $('progress');
    if (kind === 'tool_started') {
      var item = el('li', '… ' + d.tool, 'running');
      item.dataset.tool = d.tool || '';
      toolItems[d.call_id] = item;
      list.appendChild(item);
      return;
    }
    if (kind === 'tool_finished') {
      var done = toolItems[d.call_id] || list.appendChild(el('li'));
      var ms = Math.round(d.duration_ms || 0);
      done.textContent = (d.ok ? '✓ ' : '✗ ') + d.tool + ' (' + ms + ' ms)' + (d.ok ? '' : ' unavailable: ' + (d.error || ''));
      done.className = d.ok ? 'ok' : 'failed';
      return;
    }
    var line = progressLine(kind, event);
    if (line) list.appendChild(el('li', line, kind === 'investigation_failed' ? 'failed' : 'ok'));
  }

  // ------------------------------------------------------------------ diagnosis

  var current = null;

  function packetText(view) {
    var d = view.diagnosis;
    var packet = {
      ticket_id: d.ticket_id,
      account_id: d.account_id,
      team: d.escalation && d.escalation.team,
      reason: d.escalation && d.escalation.reason,
      summary: d.summary,
      root_cause: d.root_cause,
      confidence: d.confidence && d.confidence.score,
      context: (d.escalation && d.escalation.packet) || {},
      missing: (d.escalation && d.escalation.missing) || [],
      evidence: (d.evidence || []).map(function (e) {
        var src = (view.sources || {})[e.call_id] || {};
        return { claim: e.claim, value: e.value, tool: e.tool, source: src.url || src.query || null };
      }),
      related: d.related || [],
      investigation: view.id,
    };
    return JSON.stringify(packet, null, 2);
  }

  function sourceNode(link) {
    if (!link) return null;
    var url = link.url && safeUrl(link.url);
    if (url) {
      var a = el('a', link.label || 'source');
      a.href = url;
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
      a.className = 'source-link';
      return a;
    }
    if (link.query) {
      var details = el('details', null, 'source-query');
      details.appendChild(el('summary', link.label || 'query'));
      details.appendChild(el('code', link.query));
      return details;
    }
    return null;
  }

  function render(view) {
    current = view;
    var d = view.diagnosis;
    $('diagnosis').hidden = false;
    text('summary', d.summary);
    text('category', d.root_cause.category);
    text('root-cause', d.root_cause.statement);
    $('confidence-meter').value = d.confidence.score;
    text('confidence', Math.round(d.confidence.score * 100) + '%');
    var reasons = $('confidence-reasons');
    reasons.replaceChildren();
    (d.confidence.reasons || []).forEach(function (r) { reasons.appendChild(el('li', r)); });
    text('action', d.action === 'escalate'
      ? 'Escalate' + (d.escalation ? ' to ' + d.escalation.team : '')
      : 'Resolve');

    var evidence = $('evidence');
    evidence.replaceChildren();
    (d.evidence || []).forEach(function (e) {
      var item = el('li', null, 'evidence-item');
      item.appendChild(el('span', e.claim));
      item.appendChild(document.createTextNode(' '));
      item.appendChild(el('code', e.value));
      var src = sourceNode((view.sources || {})[e.call_id]);
      if (src) {
        item.appendChild(document.createTextNode(' '));
        item.appendChild(src);
      }
      evidence.appendChild(item);
    });
    if (!(d.evidence || []).length) evidence.appendChild(el('li', 'No evidence was cited.', 'muted'));

    var related = $('related');
    related.replaceChildren();
    (d.related || []).forEach(function (r) {
      var item = el('li');
      var url = r.url && safeUrl(r.url);
      var label = r.kind + ' ' + r.id + (r.title ? ' — ' + r.title : '');
      if (url) {
        var a = el('a', label);
        a.href = url; a.target = '_blank'; a.rel = 'noopener noreferrer';
        item.appendChild(a);
      } else {
        item.textContent = label;
      }
      related.appendChild(item);
    });
    $('related-block').hidden = !(d.related || []).length;

    var unavailable = $('unavailable');
    unavailable.replaceChildren();
    (d.unavailable_sources || []).forEach(function (u) { unavailable.appendChild(el('li', u.source + ': ' + u.reason)); });
    $('unavailable-block').hidden = !(d.unavailable_sources || []).length;

    text('draft-reply', d.customer_reply);
    $('escalation').hidden = !d.escalation;
    if (d.escalation) text('escalation-text', d.escalation.team + ': ' + d.escalation.reason);
    $('packet-text').hidden = true;
  }

  // ------------------------------------------------------------------ wiring

  function wire(backend) {
    text('mode', backend.mode === 'zendesk' ? '' : 'standalone');
    $('standalone').hidden = backend.mode !== 'standalone';
    $('reply-box-section').hidden = backend.mode !== 'standalone';

    $('investigate').addEventListener('click', async function () {
      var button = $('investigate');
      button.disabled = true;
      $('diagnosis').hidden = true;
      $('progress').replaceChildren();
      toolItems = {};
      $('app').dataset.state = 'running';
      setStatus('Starting…');
      try {
        var created = await backend.start();
        setStatus(created.existing ? 'Already being investigated; following it…' : 'Investigating…');
        await backend.follow(created.id, onEvent);
        var view = await backend.get(created.id);
        if (view.status === 'done' && view.diagnosis) {
          render(view);
          setStatus('Done.');
          $('app').dataset.state = 'done';
        } else {
          setStatus('Investigation ' + view.status + (view.error ? ': ' + view.error : ''), true);
          $('app').dataset.state = 'failed';
        }
      } catch (err) {
        setStatus(err.message || String(err), true);
        $('app').dataset.state = 'failed';
      } finally {
        button.disabled = false;
      }
    });

    $('insert-reply').addEventListener('click', function () {
      if (!current) return;
      backend.insertReply(current.diagnosis.customer_reply).then(function () {
        setStatus('Reply inserted.');
      }, function () {
        setStatus('Could not insert the reply.', true);
      });
    });

    $('copy-packet').addEventListener('click', function () {
      if (!current) return;
      var packet = packetText(current);
      var area = $('packet-text');
      area.value = packet;
      area.hidden = false;
      function fallback() {
        area.select();
        var ok = false;
        try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
        setStatus(ok ? 'Escalation packet copied.' : 'Select the packet below and copy it.');
      }
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(packet).then(function () {
          setStatus('Escalation packet copied.');
        }, fallback);
      } else {
        fallback();
      }
    });
  }

  function startZendesk() {
    var script = document.createElement('script');
    script.src = ZAF_SDK;
    script.onload = function () {
      var client = window.ZAFClient.init();
      client.invoke('resize', { width: '100%', height: '600px' });
      Promise.all([client.metadata(), client.get('currentUser')]).then(function (values) {
        wire(zendeskBackend(client, values[0].settings || {}, values[1].currentUser));
      });
    };
    script.onerror = function () { setStatus('Could not load the Zendesk app framework.', true); };
    document.head.appendChild(script);
  }

  if (inZendesk) startZendesk();
  else wire(standaloneBackend());
})();
