// perfmon Real User Monitoring loader.
//
//   <script src="https://monitor.example.com/static/rum/rum.js" data-site-key="KEY" defer></script>
//
// Optional attributes: data-endpoint (beacon URL; default: /api/rum/beacon/ on the
// script's origin), data-sample-rate (0..1, same value as the site's setting),
// data-require-consent (send nothing until the page calls rum.consent(true)).
// Public API: rum.track(name, value, attrs), rum.consent(true | false).
import { onCLS, onFCP, onINP, onLCP, onTTFB } from "web-vitals/attribution";

var MAX_EVENTS_PER_BEACON = 100; // the endpoint takes up to 200
var MAX_BODY_BYTES = 60000; // the endpoint takes up to 64 KB
var MAX_HELD_EVENTS = 500; // kept while waiting for consent
var MAX_ERRORS_PER_PAGE = 20;

var script = document.currentScript;
var data = (script && script.dataset) || {};
var endpoint = data.endpoint || (script && script.src ? new URL("/api/rum/beacon/", script.src).href : "");
var siteKey = data.siteKey;
var sampleRate = data.sampleRate === undefined ? 1 : Number(data.sampleRate);
var requireConsent = !!script && script.hasAttribute("data-require-consent");

var consent = null; // null: not asked yet; true/false once the page says
var queue = [];
var counter = 0;
var restored = false;
var seenErrors = {};
var errorCount = 0;
var softViews = {}; // navigationId -> {pv, url}

function randomId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
  return (Date.now().toString(36) + Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2)).slice(0, 32);
}

// FNV-1a over the session id: the endpoint samples sites with the same hash, so a
// session kept here is kept there too.
function sampleBucket(text) {
  var hash = 0x811c9dc5;
  for (var i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % 10000;
}

function sessionId() {
  var key = "perfmon.rum.session";
  try {
    var existing = sessionStorage.getItem(key);
    if (existing) return existing;
    var created = randomId();
    sessionStorage.setItem(key, created);
    return created;
  } catch (e) {
    return randomId(); // storage blocked: one session per page
  }
}

function privacySignal() {
  var nav = navigator;
  return nav.globalPrivacyControl === true || nav.doNotTrack === "1" || window.doNotTrack === "1";
}

var session = sessionId();
var pageView = randomId();
var pageUrl = location.href; // of the page load: a single-page app changes location later
var enabled = !!siteKey && !!endpoint && !privacySignal() && sampleBucket(session) < sampleRate * 10000;

function navigationEntry() {
  var entries = performance.getEntriesByType ? performance.getEntriesByType("navigation") : [];
  return entries && entries[0];
}

function navigationInfo() {
  var nav = navigationEntry();
  var type = restored ? "back-forward-cache" : nav ? String(nav.type).replace(/_/g, "-") : "navigate";
  var prerendered = !!(document.prerendering || (nav && nav.activationStart > 0));
  if (prerendered && !restored) type = "prerender";
  return { type: type, prerendered: prerendered, restored: restored };
}

function serverTiming() {
  var nav = navigationEntry();
  var list = (nav && nav.serverTiming) || [];
  var found = [];
  for (var i = 0; i < list.length && found.length < 10; i++) {
    found.push({ name: String(list[i].name).slice(0, 64), duration: list[i].duration || 0, description: String(list[i].description || "").slice(0, 100) });
  }
  return found;
}

function device() {
  var conn = navigator.connection;
  var info = { viewport_width: window.innerWidth || 0, viewport_height: window.innerHeight || 0 };
  if (navigator.deviceMemory) info.memory = navigator.deviceMemory;
  if (conn && conn.effectiveType) info.connection = conn.effectiveType;
  return info;
}

function push(event, view) {
  if (!enabled || consent === false) return;
  event.id = (view ? view.pv : pageView) + "." + ++counter;
  if (view) {
    event.page_view = view.pv;
    event.url = view.url;
  }
  queue.push(event);
  if (queue.length > MAX_HELD_EVENTS) queue.shift();
  if (queue.length >= MAX_EVENTS_PER_BEACON && canSend()) flush();
}

function canSend() {
  return enabled && (consent === true || (!requireConsent && consent !== false));
}

function beacon(events) {
  return JSON.stringify({
    key: siteKey,
    session: session,
    page_view: pageView,
    url: pageUrl,
    consent: consent === true,
    device: device(),
    navigation: navigationInfo(),
    server_timing: serverTiming(),
    events: events,
  });
}

function send(body) {
  var sent = false;
  try {
    sent = navigator.sendBeacon && navigator.sendBeacon(endpoint, body);
  } catch (e) {
    sent = false;
  }
  if (!sent && window.fetch) {
    fetch(endpoint, { method: "POST", body: body, keepalive: true, credentials: "omit", headers: { "Content-Type": "application/json" } }).catch(function () {});
  }
}

function size(body) {
  return new Blob([body]).size; // bytes in UTF-8, as sent
}

function flush() {
  if (!canSend() || !queue.length) return;
  var pending = queue;
  queue = [];
  while (pending.length) {
    var count = Math.min(pending.length, MAX_EVENTS_PER_BEACON);
    var body = beacon(pending.slice(0, count));
    while (size(body) > MAX_BODY_BYTES && count > 1) {
      count = Math.ceil(count / 2);
      body = beacon(pending.slice(0, count));
    }
    if (size(body) <= MAX_BODY_BYTES) send(body);
    pending = pending.slice(count);
  }
}

function clip(text, size) {
  return text == null ? "" : String(text).slice(0, size);
}

function round(value) {
  return typeof value === "number" && isFinite(value) ? Math.round(value * 1000) / 1000 : undefined;
}

function attribution(metric) {
  var a = metric.attribution || {};
  var pick = {
    LCP: { target: a.target, url: a.url, ttfb: a.timeToFirstByte, load_delay: a.resourceLoadDelay, load_duration: a.resourceLoadDuration, render_delay: a.elementRenderDelay },
    INP: { target: a.interactionTarget, interaction: a.interactionType, input_delay: a.inputDelay, processing: a.processingDuration, presentation_delay: a.presentationDelay, load_state: a.loadState },
    CLS: { target: a.largestShiftTarget, largest_shift: a.largestShiftValue, load_state: a.loadState },
    FCP: { ttfb: a.timeToFirstByte, first_byte_to_fcp: a.firstByteToFCP, load_state: a.loadState },
    TTFB: { waiting: a.waitingDuration, cache: a.cacheDuration, dns: a.dnsDuration, connection: a.connectionDuration, request: a.requestDuration },
  }[metric.name];
  var out = {};
  for (var key in pick) {
    var value = pick[key];
    if (typeof value === "number") value = round(value);
    else if (value != null) value = clip(value, key === "url" ? 1000 : 300);
    if (value !== undefined && value !== null && value !== "") out[key] = value;
  }
  return out;
}

// A soft navigation (single-page app route change) is a page view of its own.
function softView(id, url) {
  if (!softViews[id]) {
    softViews[id] = { pv: pageView + "-" + id, url: clip(url, 2000) };
    push({ type: "pageview", title: clip(document.title, 300), navigation_type: "soft-navigation" }, softViews[id]);
  }
  return softViews[id];
}

function onMetric(metric) {
  var soft = metric.navigationType === "soft-navigation";
  if (soft && metric.name === "TTFB") return; // no request behind a soft navigation
  var view = soft && metric.navigationId ? softView(metric.navigationId, metric.navigationURL || location.href) : null;
  push(
    {
      type: "vital",
      name: metric.name,
      value: round(metric.value),
      delta: round(metric.delta),
      rating: metric.rating,
      metric_id: clip(metric.id, 64),
      navigation_type: metric.navigationType || "navigate",
      attribution: attribution(metric),
    },
    view,
  );
}

function onError(message, source, line, column, stack, kind) {
  var signature = message + "|" + source + "|" + line + "|" + column;
  if (seenErrors[signature] || errorCount >= MAX_ERRORS_PER_PAGE) return;
  seenErrors[signature] = 1;
  errorCount++;
  push({ type: "error", kind: kind, message: clip(message, 1000) || "(no message)", source: clip(source, 1000), line: line || 0, column: column || 0, stack: clip(stack, 4000) });
}

function start() {
  push({ type: "pageview", title: clip(document.title, 300), referrer: clip(document.referrer, 2000) });
  var options = { reportSoftNavs: true };
  onLCP(onMetric, options);
  onINP(onMetric, options);
  onCLS(onMetric, options);
  onFCP(onMetric, options);
  onTTFB(onMetric, options);

  addEventListener("error", function (event) {
    var error = event.error;
    onError(event.message || (error && error.message), event.filename, event.lineno, event.colno, error && error.stack, "error");
  });
  addEventListener("unhandledrejection", function (event) {
    var reason = event.reason;
    var message = reason && reason.message ? reason.message : String(reason);
    onError("Unhandled rejection: " + message, "", 0, 0, reason && reason.stack, "unhandledrejection");
  });
  addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") flush();
  });
  addEventListener("pagehide", flush);
  addEventListener("pageshow", function (event) {
    if (event.persisted) {
      // Restored from the back/forward cache: a new page view of the same page.
      restored = true;
      pageView = randomId();
      pageUrl = location.href;
      seenErrors = {};
      errorCount = 0;
      push({ type: "pageview", title: clip(document.title, 300), referrer: "" });
    }
  });
}

var api = {
  track: function (name, value, attrs) {
    var clean = {};
    var count = 0;
    for (var key in attrs || {}) {
      var v = attrs[key];
      if (count >= 20) break;
      if (typeof v === "number" ? isFinite(v) : typeof v === "string" || typeof v === "boolean") {
        clean[clip(key, 40)] = typeof v === "string" ? clip(v, 200) : v;
        count++;
      }
    }
    var event = { type: "custom", name: clip(name, 100), attrs: clean };
    if (typeof value === "number" && isFinite(value)) event.value = value;
    push(event);
  },
  consent: function (given) {
    consent = !!given;
    if (!consent) queue = [];
  },
};

var early = window.rum;
window.rum = api;
// Calls made before the script loaded: window.rum = [["consent", true], ...].
if (Array.isArray(early)) {
  early.forEach(function (call) {
    if (api[call[0]]) api[call[0]].apply(null, call.slice(1));
  });
}
if (enabled) start();
