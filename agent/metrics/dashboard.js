/*
 * casefile's support dashboard: the team's numbers from GET /v1/reports/metrics, drawn here.
 *
 * The charts are hand-written SVG (no library, nothing from a CDN: the service may run where
 * there is no internet). Every figure shown carries data-figure (its path in the report, e.g.
 * "by_team.backend.bounce_rate") and data-value (the number the endpoint returned), so a test
 * can check what is shown against the endpoint.
 *
 * The token, the window selector and reading the endpoint are report_page.js's (shared with /clusters).
 */
(function () {
  'use strict';

  var SVG = 'http://www.w3.org/2000/svg';
  var COLORS = { escalation_rate: '#d97706', fcr_rate: '#059669', bounce_rate: '#dc2626' };
  var SERIES = [
    ['escalation_rate', 'escalation rate'],
    ['fcr_rate', 'first-contact resolution'],
    ['bounce_rate', 'bounce rate']
  ];

  function $(id) { return document.getElementById(id); }

  function pct(v) { return v === null || v === undefined ? '–' : (v * 100).toFixed(1) + '%'; }

  function dur(s) {
    if (s === null || s === undefined) return '–';
    if (s < 120) return s.toFixed(1) + ' s';
    if (s < 7200) return (s / 60).toFixed(1) + ' min';
    return (s / 3600).toFixed(1) + ' h';
  }

  var h = window.casefileReport.h;

  function s(tag, attrs, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // One shown figure: its text, and where it came from.
  function figure(path, value, format, tag) {
    var node = h(tag || 'span', { 'class': 'figure', 'data-figure': path, text: format(value) });
    node.setAttribute('data-value', value === null || value === undefined ? '' : String(value));
    return node;
  }

  function count(v) { return String(v); }

  // ------------------------------------------------------------------ headline tiles

  function tile(label, node, sub) {
    var children = [h('span', { 'class': 'label', text: label }), node];
    if (sub) children.push(sub);
    return h('div', { 'class': 'tile' }, children);
  }

  function headline(t) {
    var box = $('headline');
    box.textContent = '';
    box.appendChild(tile('Investigations', figure('total.investigations', t.investigations, count)));
    box.appendChild(tile('Escalation rate', figure('total.escalation_rate', t.escalation_rate, pct),
      h('span', { 'class': 'sub' }, [figure('total.escalations', t.escalations, count), document.createTextNode(' escalated')])));
    box.appendChild(tile('Investigation time p50', figure('total.investigation_time_s.p50', t.investigation_time_s.p50, dur),
      h('span', { 'class': 'sub' }, [document.createTextNode('p95 '), figure('total.investigation_time_s.p95', t.investigation_time_s.p95, dur)])));
    box.appendChild(tile('Time to escalation p50', figure('total.time_to_escalation_s.p50', t.time_to_escalation_s.p50, dur),
      h('span', { 'class': 'sub' }, [document.createTextNode('p95 '), figure('total.time_to_escalation_s.p95', t.time_to_escalation_s.p95, dur)])));
    box.appendChild(tile('Bounce rate', figure('total.bounce_rate', t.bounce_rate, pct),
      h('span', { 'class': 'sub' }, [figure('total.bounced', t.bounced, count), document.createTextNode(' bounced')])));
    box.appendChild(tile('First-contact resolution', figure('total.fcr_rate', t.fcr_rate, pct),
      h('span', { 'class': 'sub' }, [figure('total.outcome_unknown', t.outcome_unknown, count), document.createTextNode(' unknown')])));
    box.appendChild(tile('Resolved without engineering',
      figure('total.resolved_without_engineering_share', t.resolved_without_engineering_share, pct)));
  }

  // ------------------------------------------------------------------ tables

  var COLUMNS = [
    ['investigations', 'inv.', count],
    ['escalation_rate', 'escalation', pct],
    ['bounce_rate', 'bounce', pct],
    ['fcr_rate', 'FCR', pct],
    ['resolved_without_engineering_share', 'no eng.', pct],
    ['investigation_time_s.p50', 'time p50', dur],
    ['investigation_time_s.p95', 'time p95', dur],
    ['time_to_escalation_s.p50', 'to esc. p50', dur]
  ];

  function field(obj, dotted) {
    return dotted.split('.').reduce(function (o, k) { return o === null || o === undefined ? o : o[k]; }, obj);
  }

  // A team only sees escalations: its FCR and no-engineering share are 0 by definition.
  var TEAM_COLUMNS = COLUMNS.filter(function (c) { return c[0] !== 'fcr_rate' && c[0] !== 'resolved_without_engineering_share'; });

  function table(id, section, slices, first, columns) {
    columns = columns || COLUMNS;
    var t = $(id);
    t.textContent = '';
    t.appendChild(h('tr', {}, [h('th', { text: first })].concat(columns.map(function (c) { return h('th', { text: c[1] }); }))));
    slices.forEach(function (slice) {
      var cells = [h('td', { text: slice.key })];
      columns.forEach(function (c) {
        cells.push(h('td', {}, [figure(section + '.' + slice.key + '.' + c[0], field(slice, c[0]), c[2])]));
      });
      t.appendChild(h('tr', {}, cells));
    });
    if (!slices.length) t.appendChild(h('tr', {}, [h('td', { text: '(none in this window)' })]));
  }

  // A table of figures: one row per item, first its name, then a figure per column [field, header, format].
  function figureTable(id, section, items, name, columns, empty) {
    var t = $(id);
    t.textContent = '';
    t.appendChild(h('tr', {}, [name[1]].concat(columns.map(function (c) { return c[1]; })).map(function (x) { return h('th', { text: x }); })));
    items.forEach(function (item) {
      var base = section + '.' + item[name[0]] + '.';
      t.appendChild(h('tr', {}, [h('td', { text: item[name[0]] })].concat(columns.map(function (c) {
        return c[2] ? h('td', {}, [figure(base + c[0], item[c[0]], c[2])]) : h('td', { text: item[c[0]] });
      }))));
    });
    if (!items.length) t.appendChild(h('tr', {}, [h('td', { text: empty })]));
  }

  function rules(lines) {
    figureTable('table-rules', 'by_trigger', lines, ['rule', 'rule'],
      [['escalations', 'escalations', count], ['bounced', 'bounced', count], ['bounce_rate', 'bounce rate', pct]],
      '(no escalations)');
  }

  // The largest shared causes ("4 tickets hit ABC-123"); the clusters page has the same window.
  function clusters(list, report) {
    figureTable('table-clusters', 'top_clusters', list, ['key', 'shared cause'],
      [['size', 'tickets', count], ['accounts', 'accounts', count], ['escalated', 'escalated', count], ['category', 'category', null]],
      '(no shared causes in this window)');
    $('clusters-link').setAttribute('href', '/clusters?' + new URLSearchParams({ since: report.since, until: report.until }).toString());
  }

  // ------------------------------------------------------------------ charts (SVG)

  function legend(items) {
    return h('div', { 'class': 'legend' }, items.map(function (it) {
      var swatch = h('i');
      swatch.style.background = it[1];
      return h('span', {}, [swatch, document.createTextNode(it[0])]);
    }));
  }

  // Rates per week as lines, 0–100 %.
  function weekChart(weeks) {
    var box = $('chart-weeks');
    box.textContent = '';
    var W = 720, H = 220, L = 40, R = 12, T = 10, B = 28;
    var svg = s('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'rates per week' });
    [0, 0.25, 0.5, 0.75, 1].forEach(function (v) {
      var y = T + (1 - v) * (H - T - B);
      svg.appendChild(s('line', { x1: L, x2: W - R, y1: y, y2: y, stroke: '#e5e7eb' }));
      svg.appendChild(s('text', { x: L - 6, y: y + 4, 'text-anchor': 'end' }, (v * 100) + '%'));
    });
    var step = weeks.length > 1 ? (W - L - R) / (weeks.length - 1) : 0;
    function x(i) { return weeks.length > 1 ? L + i * step : (L + W - R) / 2; }
    weeks.forEach(function (w, i) {
      var anchor = weeks.length > 1 && i === 0 ? 'start' : weeks.length > 1 && i === weeks.length - 1 ? 'end' : 'middle';
      svg.appendChild(s('text', { x: x(i), y: H - 8, 'text-anchor': anchor }, w.key));
    });
    SERIES.forEach(function (serie) {
      var key = serie[0], points = [];
      weeks.forEach(function (w, i) {
        if (w[key] === null || w[key] === undefined) return;
        points.push([x(i), T + (1 - w[key]) * (H - T - B), w]);
      });
      if (points.length > 1) {
        svg.appendChild(s('polyline', {
          points: points.map(function (p) { return p[0] + ',' + p[1]; }).join(' '),
          fill: 'none', stroke: COLORS[key], 'stroke-width': 2
        }));
      }
      points.forEach(function (p) {
        var dot = s('circle', { cx: p[0], cy: p[1], r: 4, fill: COLORS[key], 'class': 'point',
          'data-series': key, 'data-week': p[2].key, 'data-value': String(p[2][key]) });
        dot.appendChild(s('title', {}, serie[1] + ' ' + p[2].key + ': ' + pct(p[2][key])));
        svg.appendChild(dot);
      });
    });
    box.appendChild(legend(SERIES.map(function (se) { return [se[1], COLORS[se[0]]]; })));
    box.appendChild(svg);
  }

  // Horizontal bars: a total and, inside it, a part (escalated of investigated; bounced of escalated).
  function barChart(id, slices, total, part, labels) {
    var box = $(id);
    box.textContent = '';
    var W = 440, row = 22, L = 175, R = 45, H = Math.max(1, slices.length) * row + 6;
    var max = slices.reduce(function (m, sl) { return Math.max(m, sl[total]); }, 0) || 1;
    var svg = s('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': labels[0] });
    slices.forEach(function (sl, i) {
      var y = 3 + i * row, full = (W - L - R) * sl[total] / max, inner = (W - L - R) * sl[part] / max;
      svg.appendChild(s('text', { x: L - 6, y: y + 14, 'text-anchor': 'end' }, sl.key));
      var bar = s('rect', { x: L, y: y + 2, width: full, height: row - 6, fill: '#bfdbfe', 'class': 'bar',
        'data-key': sl.key, 'data-value': String(sl[total]) });
      bar.appendChild(s('title', {}, sl.key + ': ' + sl[total] + ' ' + labels[1]));
      svg.appendChild(bar);
      svg.appendChild(s('rect', { x: L, y: y + 2, width: inner, height: row - 6, fill: '#2563eb' }));
      svg.appendChild(s('text', { x: L + full + 4, y: y + 14 }, String(sl[total])));
    });
    box.appendChild(legend([[labels[1], '#bfdbfe'], [labels[2], '#2563eb']]));
    box.appendChild(svg);
  }

  // ------------------------------------------------------------------ loading

  function render(report) {
    $('window').textContent = 'From ' + report.since + ' to ' + report.until +
      (report.outcomes.source === 'none' ? ' · no helpdesk configured: FCR unknown' : ' · outcomes read from ' + report.outcomes.source);
    headline(report.total);
    weekChart(report.by_week);
    table('table-weeks', 'by_week', report.by_week, 'week (Monday)');
    barChart('chart-teams', report.by_team, 'escalations', 'bounced', ['escalations by team', 'escalations', 'bounced']);
    table('table-teams', 'by_team', report.by_team, 'team', TEAM_COLUMNS);
    barChart('chart-categories', report.by_category, 'investigations', 'escalations', ['investigations by category', 'investigations', 'escalated']);
    table('table-categories', 'by_category', report.by_category, 'category');
    rules(report.by_trigger);
    clusters(report.top_clusters, report);
    var notes = $('notes');
    notes.textContent = '';
    report.notes.forEach(function (n) { notes.appendChild(h('li', { text: n })); });
    $('notes-section').hidden = report.notes.length === 0;
    $('report').hidden = false;
  }

  window.casefileReport.start({ endpoint: '/v1/reports/metrics', what: 'the metrics', render: render });
})();
