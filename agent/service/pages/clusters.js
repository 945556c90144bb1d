/*
 * casefile's shared causes: the clusters of GET /v1/reports/clusters, one card per cause.
 *
 * Every figure carries data-figure (its path in the report, "clusters.<key>.size") and
 * data-value (what the endpoint returned), so a test can check the page against the endpoint.
 * Text from the store is set with textContent, never as HTML; only http(s) or same-origin
 * links are made. The token, the period selector and reading the endpoint are report_page.js's.
 */
(function () {
  'use strict';

  var VERB = { bug: 'hit bug', deploy: 'followed deploy', code: 'got error code', category: 'share' };

  function $(id) { return document.getElementById(id); }

  var h = window.casefileReport.h;

  function when(iso) {
    return iso ? iso.replace('T', ' ').replace(/(\.\d+)?(Z|\+00:00)$/, '').slice(0, 16) + ' UTC' : '–';
  }

  function figure(path, value, text) {
    return h('span', { 'class': 'figure', 'data-figure': path, 'data-value': value === null ? '' : String(value), text: text });
  }

  // The helpdesk's ticket opens in a new tab; an investigation opens here, where the token is.
  function link(url, text) {
    if (!url) return document.createTextNode(text);
    if (url.charAt(0) === '/') return h('a', { href: url, text: text });
    return /^https?:\/\//.test(url) ? h('a', { href: url, target: '_blank', rel: 'noopener', text: text }) : document.createTextNode(text);
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

  window.casefileReport.start({
    endpoint: '/v1/reports/clusters',
    what: 'the shared causes',
    render: render,
    // "today" is midnight UTC; the endpoint takes 24h/7d or an ISO date.
    since: function (v) { return v === 'today' ? new Date().toISOString().slice(0, 10) + 'T00:00:00Z' : v; }
  });
})();
