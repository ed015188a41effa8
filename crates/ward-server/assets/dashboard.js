// ward: the parent's dashboard, live.
//
// Opens the parent's alert stream (server-sent events; the page's session cookie
// authenticates it) and, for each alert, reads the dashboard again and takes from it the
// alert as the server wrote it, and the child's requests and settings as they now stand (a
// new consent request arrives with its Approve and Deny buttons). Every word stays the
// server's, escaped there; this file only moves it. New alerts are announced through a
// polite live region. Without this script the dashboard works the same, and shows new
// alerts when it is reloaded.
(function () {
  'use strict';

  var section = document.getElementById('alerts');
  if (!section || !window.EventSource || !window.fetch || !window.DOMParser) {
    return;
  }
  var list = document.getElementById('alert-list');
  var announcer = document.getElementById('alert-announcer');
  var live = document.getElementById('alerts-live');
  var empty = document.getElementById('alerts-empty');

  // Every kind of alert a parent's stream sends (the SSE `event:` field).
  var KINDS = [
    'consent_requested', 'consent_request_expired', 'setting_changed', 'parent_linked',
    'parent_unlinked', 'limit_reached', 'bedtime', 'blocked_content', 'profile_reset',
    'report_received',
  ];
  // Parts of a child's card an alert may change (never the controls form a parent may be
  // filling in).
  var PARTS = ['requests-', 'settings-'];

  var waiting = [];
  var busy = false;

  // Resumes after the newest alert the page was rendered with; on a reconnection the
  // browser sends Last-Event-ID, so nothing in between is missed.
  var source = new EventSource(
    section.getAttribute('data-stream') + '?after=' +
      encodeURIComponent(section.getAttribute('data-after') || '0'),
  );
  source.addEventListener('open', function () {
    live.textContent = 'Newest first. New alerts appear here as they happen.';
    section.setAttribute('data-live', 'open');
  });
  source.addEventListener('error', function () {
    if (source.readyState === EventSource.CLOSED) {
      live.textContent = 'Live alerts stopped. Reload the page to see newer ones.';
      section.setAttribute('data-live', 'closed');
    } else {
      live.textContent = 'Reconnecting. Alerts that happen meanwhile will follow.';
      section.setAttribute('data-live', 'reconnecting');
    }
  });
  KINDS.forEach(function (kind) {
    source.addEventListener(kind, function (event) {
      var data = {};
      try {
        data = JSON.parse(event.data);
      } catch (ignored) {
        // The alert's id and kind are enough to show it.
      }
      waiting.push({ seq: event.lastEventId, kind: kind, child: String(data.child || '') });
      refresh();
    });
  });

  // One read of the dashboard at a time; alerts arriving meanwhile share the next one.
  function refresh() {
    if (busy || waiting.length === 0) {
      return;
    }
    busy = true;
    var batch = waiting;
    waiting = [];
    fetch(window.location.pathname, { credentials: 'same-origin', headers: { accept: 'text/html' } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error('dashboard ' + response.status);
        }
        return response.text();
      })
      .then(
        function (html) {
          show(batch, new DOMParser().parseFromString(html, 'text/html'));
        },
        function () {
          show(batch, null);
        },
      )
      .then(function () {
        busy = false;
        refresh();
      });
  }

  function show(batch, fresh) {
    var said = [];
    var children = {};
    batch.forEach(function (alert) {
      children[alert.child] = true;
      if (document.getElementById('alert-' + alert.seq)) {
        return;
      }
      var written = fresh && fresh.getElementById('alert-' + alert.seq);
      var item = written ? document.importNode(written, true) : fallback(alert);
      list.insertBefore(item, list.firstChild);
      var text = item.querySelector('.alert-text');
      said.push(text ? text.textContent : item.textContent);
    });
    if (fresh) {
      Object.keys(children).forEach(function (child) {
        if (child) {
          update(child, fresh);
        }
      });
    }
    if (said.length > 0) {
      empty.hidden = true;
      announcer.textContent = 'New: ' + said.join(' ');
    }
  }

  // A child's card: added when newly linked, dropped when unlinked, else its requests and
  // settings replaced where they changed.
  function update(child, fresh) {
    var mine = document.getElementById('child-' + child);
    var theirs = fresh.getElementById('child-' + child);
    if (!mine && theirs) {
      var none = document.getElementById('no-children');
      if (none) {
        none.remove();
      }
      document.getElementById('children').appendChild(document.importNode(theirs, true));
      return;
    }
    if (mine && !theirs) {
      mine.remove();
      return;
    }
    if (!mine) {
      return;
    }
    PARTS.forEach(function (part) {
      var old = document.getElementById(part + child);
      var now = fresh.getElementById(part + child);
      if (old && now && old.innerHTML !== now.innerHTML) {
        old.replaceWith(document.importNode(now, true));
      }
    });
  }

  // When the dashboard could not be read: say what kind of alert came, and offer a reload.
  function fallback(alert) {
    var item = document.createElement('li');
    item.className = 'alert alert-' + alert.kind;
    item.id = 'alert-' + alert.seq;
    var text = document.createElement('span');
    text.className = 'alert-text';
    text.textContent = 'A new alert (' + alert.kind.replace(/_/g, ' ') + ')' +
      (alert.child ? ' about ' + alert.child : '') + '.';
    var reload = document.createElement('a');
    reload.href = window.location.pathname;
    reload.textContent = 'Reload to see it';
    item.appendChild(text);
    item.appendChild(document.createTextNode(' '));
    item.appendChild(reload);
    return item;
  }
})();
