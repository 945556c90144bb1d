/*
 * casefile's shared causes: the clusters of GET /v1/reports/clusters, one card per cause.
 *
 * Every figure carries data-figure (its path in the report, "clusters.<key>.size") and
 * data-value (what the endpoint returned), so a test can check the page against the endpoint.
 * Text from the store is set with textContent, never as HTML; only http(s) or same-origin
 * links are made. The token is handled as on /dashboard: #token=… (removed from the address at
 * once) or typed in, kept for this tab only.
 */
(function () {
  'use strict';

  var VERB = { bug: 'hit bug', deploy: 'followed deploy', code: 'got error code', category: 'share' };

  function $(id) { return document.getElementById(id); }

  function h(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') node.textContent = attrs[k]; else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return node;
  }

  function when(iso) {
    return iso ? iso.replace('T', ' ').replace(/(\.\d+)?(Z|\+00:00)$/, '').slice(0, 16) + ' UTC' : '–';
  }

  function figure(path, value, text) {
    return h('span', { 'class': 'figure', 'data-figure': path, 'data-value': value === null ? '' : String(value), text: text });
  }

  function link(url, text) {
    if (!url) return document.createTextNode(text);
    var ok = url.charAt(0) === '/' || /^https?:\/\//.test(url);
    return ok ? h('a', { href: url, target: '_blank', rel: 'noopener', text: text }) : document.createTextNode(text);
  }

  function card(c) {
    var base = 'clusters.' + c.key + '.';
    var label = c.kind === 'category' ? c.label.replace(/_/g, ' ') : c.label;
    var rows = [h('tr', {}, ['ticket', 'investigation', 'account', 'diagnosis', 'action', 'at'].map(function (x) { return h('th', { text: x }); }))];
    c.members.forEach(function (m) {
      rows.push(h('tr', { 'class': 'member', 'data-investigation': m.investigation }, [
        h('td', {}, [link(m.ticket_url, m.ticket_id)]),
        h('td', {}, [link(m.investigation_url, m.investigation)]),
        h('td', { text: m.account_id || '–' }),
        h('td', { text: m.category }),
        h('td', { text: m.action }),
        h('td', { text: when(m.at) })
      ]));
    });
    return h('section', { 'class': 'cluster', 'data-key': c.key }, [
      h('h2', {}, [figure(base + 'size', c.size, String(c.size)), ' tickets ' + VERB[c.kind] + ' ', h('code', { text: label })]),
      h('p', { 'class': 'muted' }, [
        'shared ' + (c.kind === 'code' ? 'error code' : c.kind) + ' · mostly ' + c.category + ' · ',
        figure(base + 'accounts', c.accounts, String(c.accounts)), ' accounts · ',
        figure(base + 'escalated', c.escalated, String(c.escalated)), ' escalated · first seen ',
        figure(base + 'first_at', c.first_at, when(c.first_at)), ' · last seen ',
        figure(base + 'last_at', c.last_at, when(c.last_at))
      ]),
      h('table', {}, rows)
    ]);
  }

  function render(report) {
    $('window').textContent = '';
    $('window').appendChild(h('span', {}, [
      'From ' + when(report.since) + ' to ' + when(report.until) + ' · ',
      figure('investigations', report.investigations, String(report.investigations)),
      ' finished investigations · ',
      figure('clusters', report.clusters.length, String(report.clusters.length)),
      ' shared causes'
    ]));
    var box = $('clusters');
    box.textContent = '';
    report.clusters.forEach(function (c) { box.appendChild(card(c)); });
    $('empty').hidden = report.clusters.length > 0;
    $('report').hidden = false;
  }

  function since(value) {
    // "today" is midnight UTC; the endpoint takes 24h/7d or an ISO date.
    return value === 'today' ? new Date().toISOString().slice(0, 10) + 'T00:00:00Z' : value;
  }

  function load(token) {
    var params = new URLSearchParams(window.location.search);
    var query = new URLSearchParams();
    query.set('since', since(params.get('since') || $('since').value));
    if (params.get('until')) query.set('until', params.get('until'));
    $('status').textContent = 'Loading…';
    $('status').className = '';
    return fetch(window.location.origin + '/v1/reports/clusters?' + query.toString(), {
      headers: { Authorization: 'Bearer ' + token }
    }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error((body.error && body.error.message) || ('HTTP ' + r.status));
        return body;
      });
    }).then(function (report) {
      render(report);
      $('status').textContent = '';
      document.body.setAttribute('data-loaded', 'true');
    }).catch(function (err) {
      $('report').hidden = true;
      $('status').textContent = 'Could not load the shared causes: ' + err.message;
      $('status').className = 'error';
      document.body.setAttribute('data-loaded', 'error');
    });
  }

  function start() {
    var fragment = new URLSearchParams(window.location.hash.slice(1));
    var input = $('token');
    input.value = fragment.get('token') || window.sessionStorage.getItem('casefile-token') || '';
    if (fragment.has('token')) window.history.replaceState(null, '', window.location.pathname + window.location.search);
    var preset = new URLSearchParams(window.location.search).get('since');
    if (preset) {
      $('since').value = preset;
      if ($('since').value !== preset) {  // a period given in the address (dates): say so
        $('since').appendChild(h('option', { value: preset, text: 'from ' + preset.slice(0, 10) }));
        $('since').value = preset;
      }
    }
    $('controls').addEventListener('submit', function (e) {
      e.preventDefault();
      var token = input.value.trim();
      if (token) window.sessionStorage.setItem('casefile-token', token);
      var url = new URL(window.location.href);
      url.searchParams.set('since', $('since').value);
      url.searchParams.delete('until');
      window.history.replaceState(null, '', url.pathname + url.search);
      document.body.removeAttribute('data-loaded');
      load(token);
    });
    if (input.value.trim()) {
      window.sessionStorage.setItem('casefile-token', input.value.trim());
      load(input.value.trim());
    } else {
      $('status').textContent = 'Enter a service token to see the shared causes.';
    }
  }

  start();
})();
