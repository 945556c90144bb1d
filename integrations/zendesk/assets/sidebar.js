/*
 * casefile ticket sidebar (loaded after dom.js and backends.js).
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

  var dom = window.casefile.dom;
  var backends = window.casefile.backends;
  var $ = dom.$, text = dom.text, el = dom.el, safeUrl = dom.safeUrl, setStatus = dom.setStatus;
  var shortenShas = dom.shortenShas, idNode = dom.idNode, copyText = dom.copyText;
  var standaloneBackend = backends.standaloneBackend, zendeskBackend = backends.zendeskBackend;

  var ZAF_SDK = 'https://static.zdassets.com/zendesk_app_framework_sdk/2.0/zaf_sdk.min.js';

  var query = new URLSearchParams(window.location.search);
  var inZendesk = query.has('origin') && query.has('app_guid');

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

  // Standalone, ?investigation=<id> opens that investigation (the shared-causes page links here).
  function openInvestigation(backend, id) {
    setStatus('Loading ' + id + '…');
    backend.get(id).then(function (view) {
      $('standalone').open = false;
      if (view.status === 'done' && view.diagnosis) {
        render(view);
        setStatus('');
        $('app').dataset.state = 'done';
      } else {
        setStatus('Investigation ' + view.status + (view.error ? ': ' + view.error : ''), true);
      }
    }, function (err) { setStatus(err.message || String(err), true); });
  }

  if (inZendesk) startZendesk();
  else {
    var backend = standaloneBackend();
    wire(backend);
    if (query.get('investigation')) openInvestigation(backend, query.get('investigation'));
  }
})();
