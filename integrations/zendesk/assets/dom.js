/*
 * casefile ticket sidebar: DOM helpers shared by the sidebar's scripts (window.casefile.dom).
 *
 * Everything from the ticket, the tools or the model goes through textContent (text, el),
 * never HTML, and only http(s) links pass safeUrl. Long ids are shown shortened (idNode) with
 * the full value on hover and click-to-copy; copying a selection copies the full ids.
 */
(function () {
  'use strict';

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

  window.casefile = window.casefile || {};
  window.casefile.dom = {
    $: $, text: text, el: el, safeUrl: safeUrl, setStatus: setStatus,
    shortId: shortId, shortenShas: shortenShas, idNode: idNode, copyText: copyText
  };
})();
