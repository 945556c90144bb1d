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
 *    service that served the page (its own origin, never a URL parameter) with a
 *    bearer token (typed in, or passed as #token=... so it never reaches a server
 *    log), and progress arrives live over Server-Sent Events.
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

  // ------------------------------------------------------------------ ids and copying

  // Long unbreakable ids (commit SHAs, request and trace ids) are shown shortened; the full value
  // is the element's title (hover) and what a click copies. SHAs inside prose become git's short form.
  var SHA = /\b[0-9a-f]{12,64}\b/gi;
  var LONG_TOKEN = /^\S{25,}$/;

  function shortId(value) {
    var s = String(value);
    if (/^[0-9a-f]{12,64}$/i.test(s)) return s.slice(0, 7) + '…';
    if (LONG_TOKEN.test(s) && !/^https?:/i.test(s) && s.indexOf('/') < 0) return s.slice(0, 12) + '…' + s.slice(-6);
    return s;
  }

  function shortenShas(str) {
    return String(str == null ? '' : str).replace(SHA, function (sha) { return sha.slice(0, 7); });
  }

  function copyText(value) {
    if (navigator.clipboard && navigator.clipboard.writeText) return navigator.clipboard.writeText(value);
    return Promise.reject(new Error('no clipboard'));
  }

  // A value as a <code>: shortened when it is a long id, full value on hover and click-to-copy.
  function idNode(value, cls) {
    var full = String(value == null ? '' : value);
    var shown = shortId(full);
    var node = el('code', shown, cls || 'id');
    if (shown !== full) {
      node.dataset.full = full;
      node.title = full + ' (click to copy)';
      node.tabIndex = 0;
      node.setAttribute('role', 'button');
      node.setAttribute('aria-label', full);
    }
    return node;
  }

  // Copying a selection that includes a shortened id copies the full id.
  document.addEventListener('copy', function (event) {
    var selection = window.getSelection();
    if (!selection || selection.isCollapsed || !event.clipboardData) return;
    var ids = document.querySelectorAll('[data-full]');
    var changed = false;
    var fragmentText = selection.toString();
    ids.forEach(function (node) {
      if (selection.containsNode(node, true) && fragmentText.indexOf(node.textContent) >= 0) {
        fragmentText = fragmentText.split(node.textContent).join(node.dataset.full);
        changed = true;
      }
    });
    if (changed) {
      event.clipboardData.setData('text/plain', fragmentText);
      event.preventDefault();
    }
  });

  document.addEventListener('click', function (event) {
    var node = event.target && event.target.closest && event.target.closest('[data-full]');
    if (!node) return;
    copyText(node.dataset.full).then(function () {
      setStatus('Copied the full value.');
    }, function () {
      setStatus('Could not copy; the full value is in the tooltip.', true);
    });
  });

  // ------------------------------------------------------------------ progress

  var toolItems = {};
  var progress = { steps: 0, tools: 0, failed: 0 };

  function progressLine(kind, event) {
    var d = (event && event.data) || {};
    switch (kind) {
      case 'investigation_started': return 'Investigating ticket ' + (d.ticket_id || '') + ' with ' + (d.model || 'the model');
      case 'signals_extracted': return 'Account: ' + (d.account_id || 'unresolved') + (d.account_candidate ? ' (candidate, not confirmed)' : '') + (d.summary ? ' — ' + d.summary : '');
      case 'account_confirmed': return 'Account ' + (d.account_id || '') + ' confirmed by ' + (d.by || 'an agent');
      case 'runbooks_matched': return 'Runbooks: ' + ((d.runbooks || []).join(', ') || 'none matched');
      case 'model_turn': return 'Model turn ' + (d.turn || '') + (d.summary ? ': ' + d.summary : '');
      case 'diagnosis_rejected': return 'Diagnosis sent back: ' + (d.reason || '');
      case 'fallback': return 'Offline investigator stood in: ' + (d.reason || '');
      case 'diagnosis_ready': return 'Diagnosis ready';
      case 'investigation_failed': return 'Failed: ' + (d.reason || '');
      default: return null;
    }
  }

  // The collapsed progress: the newest step, and how many there were.
  function setLiveLine(latest) {
    var checks = progress.tools + (progress.tools === 1 ? ' check' : ' checks');
    var failed = progress.failed ? ', ' + progress.failed + ' unavailable' : '';
    text('progress-line', latest + ' · ' + checks + failed);
  }

  // Problems worth knowing before trusting a diagnosis (a broken runbook was left out).
  function showNotices(messages) {
    var list = $('notices');
    list.replaceChildren();
    messages.forEach(function (m) { list.appendChild(el('li', m)); });
    list.hidden = !messages.length;
  }

  function resetProgress() {
    $('progress').replaceChildren();
    toolItems = {};
    progress = { steps: 0, tools: 0, failed: 0 };
    $('progress-section').open = false;
    $('progress-section').dataset.state = 'running';
  }

  function onEvent(kind, event) {
    $('progress-section').hidden = false;
    var d = (event && event.data) || {};
    var list = $('progress');
    progress.steps += 1;
    if (kind === 'tool_started') {
      var item = el('li', '… ' + d.tool, 'running');
      item.dataset.tool = d.tool || '';
      toolItems[d.call_id] = item;
      list.appendChild(item);
      setLiveLine('Checking ' + d.tool + '…');
      return;
    }
    if (kind === 'tool_finished') {
      var done = toolItems[d.call_id] || list.appendChild(el('li'));
      var ms = Math.round(d.duration_ms || 0);
      done.textContent = (d.ok ? '✓ ' : '✗ ') + d.tool + ' (' + ms + ' ms)' + (d.ok ? '' : ' unavailable: ' + (d.error || ''));
      done.className = d.ok ? 'ok' : 'failed';
      progress.tools += 1;
      if (!d.ok) progress.failed += 1;
      setLiveLine((d.ok ? '✓ ' : '✗ ') + d.tool);
      return;
    }
    if (kind === 'runbooks_matched') showNotices((d.disabled || []).map(function (p) { return 'Runbook disabled: ' + p; }));
    var line = progressLine(kind, event);
    if (!line) return;
    list.appendChild(el('li', line, kind === 'investigation_failed' ? 'failed' : 'ok'));
    if (kind === 'investigation_failed') $('progress-section').dataset.state = 'failed';
    setLiveLine(line);
  }

  // ------------------------------------------------------------------ diagnosis

  var current = null;

  function actionText(d) {
    if (d.action !== 'escalate') return 'Resolve';
    var team = d.escalation && (d.escalation.packet && d.escalation.packet.team_name || d.escalation.team);
    return 'Escalate' + (team ? ' to ' + team : '');
  }

  function packetMarkdown(view) {
    var d = view.diagnosis;
    var esc = d.escalation || {};
    if (esc.packet_markdown) return esc.packet_markdown;
    // A packet routing did not render (older records): the same headings, from the diagnosis.
    var lines = ['### Escalation → ' + (esc.team || 'unassigned'), '**Ticket** ' + d.ticket_id + (d.account_id ? ' · **Account** `' + d.account_id + '`' : '')];
    if (esc.reason) lines.push('**Why escalated:** ' + esc.reason);
    lines.push('', '**Diagnosis** (confidence ' + d.confidence.score.toFixed(2) + '): [' + d.root_cause.category + '] ' + d.root_cause.statement);
    lines.push('', '**Evidence**');
    (d.evidence || []).forEach(function (e) { lines.push('- `' + e.call_id + '` ' + e.tool + ': ' + e.claim + ' — `' + e.value + '`'); });
    lines.push('', '_casefile investigation ' + view.id + '_');
    return lines.join('\n');
  }

  function sourceNode(link) {
    if (!link) return null;
    var url = link.url && safeUrl(link.url);
    var label = shortenShas(link.label || 'source');
    if (url) {
      var a = el('a', label);
      a.href = url;
      a.title = url;
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
      a.className = 'source-link';
      return a;
    }
    if (link.query) {
      var details = el('details', null, 'source-query');
      details.appendChild(el('summary', label || 'query'));
      details.appendChild(el('code', link.query));
      return details;
    }
    return null;
  }

  // A labelled field row of a <dl class="fields">.
  function field(list, label, node) {
    if (!node) return;
    list.appendChild(el('dt', label));
    var dd = el('dd');
    dd.appendChild(node);
    list.appendChild(dd);
  }

  function renderHead(view) {
    var d = view.diagnosis;
    $('diagnosis').hidden = false;
    text('summary', d.summary);
    text('action', actionText(d));
    $('action').className = 'action ' + d.action;
    $('confidence-meter').value = d.confidence.score;
    text('confidence', Math.round(d.confidence.score * 100) + '% confident');
    var reason = d.escalation && d.escalation.reason;
    text('action-reason', reason ? 'Why: ' + reason : '');
    $('action-reason').hidden = !reason;
    text('draft-reply', d.customer_reply);
  }

  function renderRootCause(view) {
    var d = view.diagnosis;
    $('details').hidden = false;
    text('category', d.root_cause.category.replace(/_/g, ' '));
    text('component', d.root_cause.component || '');
    text('root-cause', shortenShas(d.root_cause.statement));
    var reasons = $('confidence-reasons');
    reasons.replaceChildren();
    (d.confidence.reasons || []).forEach(function (r) { reasons.appendChild(el('li', r)); });
    $('confidence-details').hidden = !(d.confidence.reasons || []).length;
    renderAlternatives(d);
  }

  // The ranked hypotheses after the chosen one, folded: each with what speaks for and against it.
  function renderAlternatives(d) {
    var others = (d.hypotheses || []).slice(1);
    var list = $('alternatives');
    list.replaceChildren();
    others.forEach(function (h) {
      var item = el('li', null, 'alternative');
      var head = el('p');
      head.appendChild(el('span', h.category.replace(/_/g, ' '), 'pill'));
      head.appendChild(document.createTextNode(' ' + Math.round(h.confidence * 100) + '%'));
      item.appendChild(head);
      item.appendChild(el('p', shortenShas(h.statement)));
      [['for', h.supporting || []], ['against', h.refuting || []]].forEach(function (side) {
        if (!side[1].length) return;
        var facts = el('ul', null, 'facts-' + side[0]);
        side[1].forEach(function (e) { facts.appendChild(el('li', side[0] + ': ' + shortenShas(e.claim) + ' (' + e.value + ')')); });
        item.appendChild(facts);
      });
      list.appendChild(item);
    });
    text('alternatives-summary', others.length === 1 ? '1 other cause considered' : others.length + ' other causes considered');
    $('alternatives-details').hidden = !others.length;
  }

  function renderEvidence(view) {
    var d = view.diagnosis;
    var evidence = $('evidence');
    evidence.replaceChildren();
    (d.evidence || []).forEach(function (e) {
      var item = el('li', null, 'evidence-item');
      item.appendChild(el('p', shortenShas(e.claim), 'claim'));
      var fields = el('dl', null, 'fields');
      field(fields, 'Value', idNode(e.value, 'value'));
      var src = sourceNode((view.sources || {})[e.call_id]);
      var from = el('span', e.call_id + ' · ' + e.tool, 'muted');
      if (src) {
        var wrap = el('span');
        wrap.appendChild(src);
        wrap.appendChild(document.createTextNode(' '));
        wrap.appendChild(from);
        field(fields, 'Source', wrap);
      } else {
        field(fields, 'Source', from);
      }
      item.appendChild(fields);
      evidence.appendChild(item);
    });
    if (!(d.evidence || []).length) evidence.appendChild(el('li', 'No evidence was cited.', 'muted'));
    $('evidence-block').hidden = false;
  }

  function renderRelated(view) {
    var d = view.diagnosis;
    var related = $('related');
    related.replaceChildren();
    (d.related || []).forEach(function (r) {
      var item = el('li');
      var url = r.url && safeUrl(r.url);
      var head = el('span', r.kind + ' ', 'muted');
      item.appendChild(head);
      var id = idNode(r.id);
      if (url) {
        var a = el('a');
        a.href = url; a.title = url; a.target = '_blank'; a.rel = 'noopener noreferrer';
        a.appendChild(id);
        item.appendChild(a);
      } else {
        item.appendChild(id);
      }
      if (r.title) item.appendChild(el('p', shortenShas(r.title), 'small'));
      related.appendChild(item);
    });
    $('related-block').hidden = !(d.related || []).length;
  }

  function renderUnavailable(view) {
    var d = view.diagnosis;
    var unavailable = $('unavailable');
    unavailable.replaceChildren();
    (d.unavailable_sources || []).forEach(function (u) { unavailable.appendChild(el('li', u.source + ': ' + u.reason)); });
    $('unavailable-block').hidden = !(d.unavailable_sources || []).length;
  }

  function renderEscalation(view) {
    var esc = view.diagnosis.escalation;
    $('escalation').hidden = !esc;
    $('packet-text').hidden = true;
    if (!esc) return;
    text('escalation-team', (esc.packet && esc.packet.team_name) || esc.team);
    text('escalation-channel', esc.channel || '');
    var missing = $('escalation-missing');
    missing.replaceChildren();
    (esc.missing || []).forEach(function (m) { missing.appendChild(el('li', 'Not collected: ' + m)); });
    $('bounce').open = false;
    $('bounce-send').disabled = false;
    renderHandoff(view);
  }

  // The hand-off's writes (ticket update, Slack message, bounce notes): pending or failed is never silent.
  var HANDOFF_WORDS = { none: '', pending: 'Hand-off pending (retrying)', done: 'Hand-off delivered', failed: 'Hand-off failed' };

  function renderHandoff(view) {
    var handoff = view.handoff || { state: 'none', deliveries: [] };
    var items = $('handoff-items');
    items.replaceChildren();
    $('handoff').hidden = handoff.state === 'none';
    text('handoff-state', HANDOFF_WORDS[handoff.state] || handoff.state);
    $('handoff').className = 'small handoff ' + handoff.state;
    (handoff.deliveries || []).forEach(function (d) {
      var what = d.kind === 'slack_message' ? 'Slack ' + d.target : d.kind === 'bounce_note' ? 'Bounce note' : 'Ticket update';
      items.appendChild(el('li', what + ': ' + d.status + (d.error ? ' — ' + d.error : '')));
    });
  }

  // A candidate account (or none): the agent confirms or names it; the reply is withheld until then.
  function renderCandidate(view) {
    var d = view.diagnosis;
    var show = Boolean(d.account_candidate) || !d.account_id;
    $('candidate').hidden = !show;
    if (!show) return;
    text('candidate-text', d.account_candidate
      ? 'The ticket names ' + d.account_id + ', but the requester is not at one of its verified domains. ' +
        'The draft reply asks the customer to confirm and tells them nothing about the account.'
      : 'No account was resolved from this ticket. Name it to investigate again with its systems.');
    $('candidate-account').value = d.account_id || '';
  }

  // One renderer per block, in page order; a new block adds its renderer here.
  var RENDERERS = [renderHead, renderCandidate, renderRootCause, renderEscalation, renderEvidence, renderRelated, renderUnavailable];

  function render(view) {
    current = view;
    RENDERERS.forEach(function (fn) { fn(view); });
  }

  function clearDiagnosis() {
    current = null;
    ['diagnosis', 'candidate', 'details', 'escalation', 'evidence-block', 'related-block', 'unavailable-block'].forEach(function (id) {
      $(id).hidden = true;
    });
  }

  // ------------------------------------------------------------------ wiring

  function wire(backend) {
    $('app').dataset.mode = backend.mode;
    text('mode', backend.mode === 'zendesk' ? '' : 'standalone');
    $('standalone').hidden = backend.mode !== 'standalone';
    $('reply-box-section').hidden = backend.mode !== 'standalone';

    // Start an investigation (``begin`` returns its {id, existing}), follow it and render the result.
    async function run(button, begin) {
      var previous = current;
      button.disabled = true;
      clearDiagnosis();
      resetProgress();
      $('app').dataset.state = 'running';
      setStatus('Starting…');
      try {
        var created = await begin();
        // The ticket input folds away so the diagnosis, when it comes, is at the top.
        $('standalone').open = false;
        setStatus(created.existing ? 'Already being investigated; following it…' : '');
        await backend.follow(created.id, onEvent);
        var view = await backend.get(created.id);
        if (view.status === 'done' && view.diagnosis) {
          render(view);
          setStatus('');
          $('investigate').textContent = 'Investigate again';
          $('progress-section').dataset.state = 'done';
          $('app').dataset.state = 'done';
        } else {
          setStatus('Investigation ' + view.status + (view.error ? ': ' + view.error : ''), true);
          $('progress-section').dataset.state = 'failed';
          $('app').dataset.state = 'failed';
        }
      } catch (err) {
        // A refused confirmation (e.g. an unknown account) leaves the diagnosis the agent had.
        if (previous && !current) render(previous);
        setStatus(err.message || String(err), true);
        $('app').dataset.state = 'failed';
      } finally {
        button.disabled = false;
      }
    }

    $('investigate').addEventListener('click', function () {
      run($('investigate'), backend.start);
    });

    $('confirm-account').addEventListener('click', function () {
      var account = $('candidate-account').value.trim();
      if (!current || !account) {
        setStatus('Type the account id first.', true);
        return;
      }
      var id = current.id;
      run($('confirm-account'), function () { return backend.confirm(id, account); });
    });

    $('insert-reply').addEventListener('click', function () {
      if (!current) return;
      backend.insertReply(current.diagnosis.customer_reply).then(function () {
        setStatus('Reply inserted.');
      }, function () {
        setStatus('Could not insert the reply.', true);
      });
    });

    // Bounce-back: the team sent the escalation back; the article that should have prevented it
    // feeds the weekly escalation review.
    $('bounce-send').addEventListener('click', function () {
      if (!current) return;
      var article = $('bounce-article').value.trim();
      var snippet = $('bounce-snippet').value.trim();
      var note = $('bounce-note').value.trim();
      if (article && !safeUrl(article)) {
        setStatus('The article must be an http(s) link.', true);
        return;
      }
      if (!article && !snippet) {
        setStatus('Name the article or the snippet that solves the ticket.', true);
        return;
      }
      if (!note) {
        setStatus('Give the reason in one or two sentences.', true);
        return;
      }
      $('bounce-send').disabled = true;
      var body = { bounced: true, article: article || null, snippet: snippet || null, note: note, via: 'sidebar' };
      backend.feedback(current.id, body).then(function () {
        setStatus('Bounce-back recorded.');
        $('bounce').open = false;
        // The ticket's note about it is on its way: show the hand-off as the service sees it.
        backend.get(current.id).then(function (view) { current = view; renderHandoff(view); }, function () {});
      }, function (err) {
        $('bounce-send').disabled = false;
        setStatus('Could not record the bounce-back: ' + (err.message || err), true);
      });
    });

    $('copy-packet').addEventListener('click', function () {
      if (!current) return;
      var packet = packetMarkdown(current);
      var area = $('packet-text');
      area.value = packet;
      area.hidden = false;
      function fallback() {
        area.select();
        var ok = false;
        try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
        setStatus(ok ? 'Escalation packet copied (Markdown).' : 'Select the packet below and copy it.');
      }
      copyText(packet).then(function () {
        setStatus('Escalation packet copied (Markdown).');
      }, fallback);
    });
  }

  function startZendesk() {
    var script = document.createElement('script');
    script.src = ZAF_SDK;
    script.onload = function () {
      var client = window.ZAFClient.init();
      client.invoke('resize', { width: '100%', height: '600px' });
      Promise.all([client.metadata(), client.get('currentUser'), client.context()]).then(function (values) {
        wire(zendeskBackend(client, values[0].settings || {}, values[1].currentUser, values[2].account));
      }).catch(function (err) { setStatus(err.message || String(err), true); });
    };
    script.onerror = function () { setStatus('Could not load the Zendesk app framework.', true); };
    document.head.appendChild(script);
  }

  if (inZendesk) startZendesk();
  else wire(standaloneBackend());
})();
