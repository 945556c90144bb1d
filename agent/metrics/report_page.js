/*
 * What casefile's report pages (/dashboard, /clusters) share: the bearer token, the period
 * selector, and reading one report endpoint with them.
 *
 * The token comes from the address's fragment (#token=…, which never reaches a server and is
 * removed from the address bar at once) or is typed in; it is kept for this tab only. The
 * period is ?since=… (and ?until=…) in the address, else the selector's value. When the report
 * is drawn the body gets data-loaded="true" ("error" when it could not be read).
 */
(function () {
  'use strict';

  function $(id) { return document.getElementById(id); }

  // An element with attributes (text: its text) and children (nodes or strings).
  function h(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') node.textContent = attrs[k]; else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return node;
  }

  // opts: endpoint ('/v1/reports/metrics'), what ('the metrics'), render(report),
  // since(value) → the endpoint's since (optional: a selector value such as 'today' to a date).
  function start(opts) {
    var toSince = opts.since || function (v) { return v; };

    function load(token) {
      var params = new URLSearchParams(window.location.search);
      var query = new URLSearchParams();
      query.set('since', toSince(params.get('since') || $('since').value));
      if (params.get('until')) query.set('until', params.get('until'));
      $('status').textContent = 'Loading…';
      $('status').className = '';
      document.body.removeAttribute('data-loaded');
      return fetch(window.location.origin + opts.endpoint + '?' + query.toString(), {
        headers: { Authorization: 'Bearer ' + token }
      }).then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) throw new Error((body.error && body.error.message) || ('HTTP ' + r.status));
          return body;
        });
      }).then(function (report) {
        opts.render(report);
        $('status').textContent = '';
        document.body.setAttribute('data-loaded', 'true');
      }).catch(function (err) {
        $('report').hidden = true;
        $('status').textContent = 'Could not load ' + opts.what + ': ' + err.message;
        $('status').className = 'error';
        document.body.setAttribute('data-loaded', 'error');
      });
    }

    var fragment = new URLSearchParams(window.location.hash.slice(1));
    var input = $('token');
    input.value = fragment.get('token') || window.sessionStorage.getItem('casefile-token') || '';
    if (fragment.has('token')) window.history.replaceState(null, '', window.location.pathname + window.location.search);
    var preset = new URLSearchParams(window.location.search).get('since');
    if (preset) {
      $('since').value = preset;
      if ($('since').value !== preset) {  // a window given in the address (dates): say so
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
      load(token);
    });
    if (input.value.trim()) {
      window.sessionStorage.setItem('casefile-token', input.value.trim());
      load(input.value.trim());
    } else {
      $('status').textContent = 'Enter a service token to see ' + opts.what + '.';
    }
  }

  window.casefileReport = { h: h, start: start };
})();
