/* Live monitor: connection state machine of the pipeline-status panel.
 *
 * Entry points are Dash clientside callbacks (window.dash_clientside.monitor);
 * timers and fetches report back through dash_clientside.set_props, so no state
 * change and no push ever costs a server round trip. One controller per page.
 *
 * WebSocket first; on close reconnect with exponential backoff (base doubling
 * to a cap, with jitter); after N failed attempts poll the HTTP snapshot (ETag,
 * If-None-Match) on the dcc.Interval while the socket keeps retrying at the
 * capped interval; stop polling once the socket is open again. A socket with
 * no message (heartbeats included) for dead_after_ms is treated as dead.
 */
(function () {
    'use strict';

    var NS = window.nvcdMonitor = window.nvcdMonitor || {};
    var EMBED_RE = /\/embed\/monitor\/?$/;

    // Runs before Dash renders the layout, so the embed page never flashes the site header.
    if (EMBED_RE.test(window.location.pathname)) {
        document.documentElement.classList.add('nvcd-embed');
    }

    var ctrl = null;

    function now() { return Date.now(); }

    function setProps(id, props) {
        window.dash_clientside.set_props(id, props);
    }

    /* Delay before reconnect attempt n (1-based): base * 2^(n-1), capped, minus up to jitter. */
    function backoffDelay(settings, attempt) {
        var raw = settings.backoff_base_ms * Math.pow(2, Math.max(0, attempt - 1));
        var capped = Math.min(raw, settings.backoff_cap_ms);
        // Jitter only shortens the wait, so the cap stays a cap and clients spread out.
        return Math.round(capped * (1 - settings.backoff_jitter * Math.random()));
    }
    NS.backoffDelay = backoffDelay;

    /* The socket's URL from the page's own location: https -> wss, same host, same prefix. */
    function wsBaseUrl(settings, location) {
        var loc = location || window.location;
        var scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
        return scheme + '//' + loc.host + settings.ws_path;
    }
    NS.wsBaseUrl = wsBaseUrl;

    function Controller(settings) {
        this.s = settings;
        this.ids = settings.ids;
        this.wsUrl = wsBaseUrl(settings);
        this.seq = 0;
        this.phase = 'connecting';      // connecting | open | waiting (closed, retry scheduled)
        this.phaseSince = now();
        this.gotMessage = false;        // a message arrived on the current socket
        this.failures = 0;              // consecutive failed attempts, reset by a message
        this.reconnects = 0;            // reconnect attempts since the page loaded
        this.nextRetryAt = null;
        this.retryTimer = null;
        this.polling = false;
        this.fetching = false;
        this.etag = null;
        this.httpError = null;
        this.lastMessageAt = null;
        this.lastConfirmedAt = null;    // when the data on screen was last confirmed current
        this.shown = null;              // the snapshot on screen
        this.via = null;                // how it arrived: websocket | http
        this.problem = null;            // a visible note about malformed input
        var self = this;
        this.ticker = window.setInterval(function () { self.tick(); }, settings.tick_ms);
        this.initialTimer = window.setTimeout(function () {
            if (!self.shown) { self.fetchSnapshot('initial'); }
        }, settings.initial_fetch_ms);
    }

    Controller.prototype.mounted = function () {
        return document.getElementById(this.ids.status) !== null;
    };

    Controller.prototype.dispose = function () {
        window.clearInterval(this.ticker);
        window.clearTimeout(this.initialTimer);
        window.clearTimeout(this.retryTimer);
        this.disposed = true;
        if (NS.controller === this) { NS.state = null; }
    };

    Controller.prototype.setPhase = function (phase) {
        this.phase = phase;
        this.phaseSince = now();
    };

    Controller.prototype.firstUrl = function () {
        this.setPhase('connecting');
        return this.wsUrl;
    };

    Controller.prototype.connect = function () {
        if (!this.mounted()) { this.dispose(); return; }
        window.clearTimeout(this.retryTimer);
        this.retryTimer = null;
        this.nextRetryAt = null;
        this.reconnects += 1;
        this.seq += 1;
        this.gotMessage = false;
        this.setPhase('connecting');
        // A new URL is the only way to make the dash-extensions component reconnect.
        setProps(this.ids.ws, {url: this.wsUrl + '?retry=' + this.seq});
        this.paint();
    };

    Controller.prototype.onOpen = function () {
        this.setPhase('open');
        this.lastMessageAt = now();
        this.setPolling(false);
        this.paint();
    };

    Controller.prototype.onClose = function (reason) {
        if (this.phase === 'waiting') { return; }
        this.failures += 1;
        this.gotMessage = false;
        this.closeReason = reason || null;
        if (this.failures >= this.s.poll_after_failures) { this.setPolling(true); }
        var delay = backoffDelay(this.s, this.failures);
        this.setPhase('waiting');
        this.nextRetryAt = now() + delay;
        var self = this;
        this.retryTimer = window.setTimeout(function () {
            if (!self.disposed) { self.connect(); }
        }, delay);
        this.paint();
    };

    /* Drop a socket that is open but silent, or stuck connecting, and count it as a failure. */
    Controller.prototype.dropSocket = function (reason) {
        setProps(this.ids.ws, {url: null});
        this.onClose(reason);
    };

    Controller.prototype.onMessage = function (message) {
        this.lastMessageAt = now();
        var payload;
        try {
            payload = JSON.parse(message.data);
        } catch (err) {
            this.problem = 'A message from the server could not be read.';
            this.paint();
            return;
        }
        if (!payload || typeof payload !== 'object') { return; }
        if (payload.type === 'pipeline_status_update' || payload.type === 'heartbeat') {
            this.gotMessage = true;
            this.failures = 0;
            if (this.phase !== 'open') { this.setPhase('open'); }
            this.setPolling(false);
        }
        if (payload.type === 'pipeline_status_update') {
            this.accept(payload.data, 'websocket');
        } else if (payload.type === 'heartbeat') {
            this.onHeartbeat(payload);
        }
        this.paint();
    };

    Controller.prototype.onHeartbeat = function (beat) {
        // Heartbeats say what the server last found of its database (absent from older servers).
        this.beatDatabase = typeof beat.database === 'string' ? beat.database : null;
        if (!this.shown || typeof beat.version !== 'number') { return; }
        if (beat.version === this.shown.version) {
            this.lastConfirmedAt = now();
        } else if (beat.version > this.shown.version) {
            // A push went missing: fetch rather than show figures the server no longer has.
            this.fetchSnapshot('heartbeat');
        }
    };

    Controller.prototype.accept = function (snapshot, via) {
        if (!snapshot || typeof snapshot.version !== 'number') {
            this.problem = 'The server sent a status without a version; it was not shown.';
            return false;
        }
        if (this.shown && snapshot.version < this.shown.version) { return false; }
        if (this.disposed || !this.mounted()) { return false; }
        this.shown = snapshot;
        this.via = via;
        this.beatDatabase = null;  // the snapshot's own system.database is newer
        this.problem = null;
        this.lastConfirmedAt = now();
        setProps(this.ids.body, {children: NS.renderSnapshot(snapshot, this.s), 'aria-busy': 'false'});
        return true;
    };

    Controller.prototype.setPolling = function (on) {
        if (this.polling === on) { return; }
        this.polling = on;
        setProps(this.ids.poll, {disabled: !on});
        if (on) { this.fetchSnapshot('poll'); } else { this.httpError = null; }
    };

    Controller.prototype.fetchSnapshot = function (reason) {
        if (this.fetching || this.disposed) { return; }
        this.fetching = true;
        var self = this;
        var headers = {'Accept': 'application/json'};
        if (this.etag && this.shown) { headers['If-None-Match'] = this.etag; }
        // A request that never answers must not block every later poll.
        var abort = new AbortController();
        var timer = window.setTimeout(function () { abort.abort(); }, Math.max(2 * this.s.poll_interval_ms, 10000));
        window.fetch(this.s.http_path, {headers: headers, cache: 'no-store', credentials: 'same-origin',
                                        signal: abort.signal})
            .then(function (response) {
                if (response.status === 304) {
                    self.lastConfirmedAt = now();
                    self.httpError = null;
                    return null;
                }
                if (!response.ok) {
                    // The API's error shape is {status, message, detail}; show its message.
                    return response.json().catch(function () { return {}; }).then(function (body) {
                        throw new Error('HTTP ' + response.status + (body && body.message ? ' (' + body.message + ')' : ''));
                    });
                }
                var etag = response.headers.get('ETag');
                return response.json().then(function (snapshot) {
                    if (self.accept(snapshot, 'http')) { self.etag = etag; }
                    self.httpError = null;
                });
            })
            .catch(function (err) {
                self.httpError = (err && err.message && err.message.indexOf('HTTP') === 0) ? err.message
                    : (err && err.name === 'AbortError' ? 'no answer' : 'server unreachable');
            })
            .then(function () {
                window.clearTimeout(timer);
                self.fetching = false;
                self.lastFetchReason = reason;
                self.paint();
            });
    };

    Controller.prototype.refresh = function () {
        this.fetchSnapshot('refresh');
        if (this.phase === 'waiting') { this.connect(); }
    };

    Controller.prototype.tick = function () {
        if (!this.mounted()) { this.dispose(); return; }
        var t = now();
        if (this.phase === 'open' && t - this.lastMessageAt > this.s.dead_after_ms) {
            this.dropSocket('no message for ' + Math.round(this.s.dead_after_ms / 1000) + ' s');
            return;
        }
        if (this.phase === 'connecting' && t - this.phaseSince > this.s.dead_after_ms) {
            this.dropSocket('connection attempt timed out');
            return;
        }
        this.paint();
    };

    /* Derive what the indicator must say, from facts only.
     *
     * Label and detail are lists of parts: strings, and {tick: text} for the
     * countdown, which is drawn aria-hidden so the live region is not re-read
     * every second.
     */
    Controller.prototype.view = function () {
        var t = now();
        var age = this.lastConfirmedAt === null ? null : t - this.lastConfirmedAt;
        var nextIn = this.nextRetryAt === null ? null : Math.max(0, Math.ceil((this.nextRetryAt - t) / 1000));
        var attempt = 'attempt ' + (this.failures + 1);
        var retry = this.phase === 'waiting' ? ['WebSocket ' + attempt, {tick: ' in ' + nextIn + ' s'}]
            : (this.phase === 'connecting' && this.reconnects > 0 ? ['WebSocket connecting…'] : []);
        var v = {key: 'connecting', label: ['Connecting…'], detail: [], age: age};
        if (this.phase === 'open' && this.gotMessage) {
            v.key = 'live'; v.label = ['Live · WebSocket'];
        } else if (this.polling && this.httpError) {
            v.key = 'offline'; v.label = ['Offline'];
            v.detail = ['HTTP: ' + this.httpError].concat(retry.length ? ['; '].concat(retry) : []);
        } else if (this.polling && this.lastConfirmedAt !== null) {
            v.key = 'polling'; v.label = ['Polling · HTTP']; v.detail = retry;
        } else if (this.phase === 'waiting') {
            v.key = 'reconnecting'; v.label = ['Reconnecting (' + attempt, {tick: ', next in ' + nextIn + ' s'}, ')'];
        } else if (this.phase === 'connecting' && this.reconnects > 0) {
            v.key = 'reconnecting'; v.label = ['Reconnecting (' + attempt + ', connecting…)'];
        }
        if (window.navigator.onLine === false) {
            v.key = 'offline'; v.label = ['Offline']; v.detail = ['the browser reports no network'];
        }
        if (age !== null && age > this.s.stale_after_ms) {
            v.detail = v.label.concat(v.detail.length ? [' — '].concat(v.detail) : []);
            v.key = 'stale'; v.label = ['Stale'];
        }
        v.text = NS.partsText(v.label);
        v.detailText = NS.partsText(v.detail);
        v.method = this.phase === 'open' && this.gotMessage ? 'WebSocket' : (this.polling ? 'HTTP polling' : 'none');
        v.failures = this.failures;
        v.reconnects = this.reconnects;
        v.closeReason = this.closeReason || null;
        v.problem = this.problem;
        v.httpError = this.httpError;
        v.via = this.via;
        v.shown = this.shown;
        v.beatDatabase = this.beatDatabase || null;
        return v;
    };

    Controller.prototype.paint = function () {
        if (this.disposed) { return; }
        if (!this.mounted()) { this.dispose(); return; }
        var v = this.view();
        if (v.key !== this.paintedKey || v.text !== this.paintedText || v.detailText !== this.paintedDetail) {
            this.paintedKey = v.key; this.paintedText = v.text; this.paintedDetail = v.detailText;
            setProps(this.ids.status, {
                children: NS.renderState(v),
                className: 'monitor-state monitor-state-' + v.key,
            });
            // Figures that may be out of date are dimmed, as well as labelled by the status line.
            var doubtful = v.key === 'offline' || v.key === 'stale';
            setProps(this.ids.body, {className: 'monitor-body' + (doubtful ? ' monitor-body-doubtful' : '')});
        }
        setProps(this.ids.age, {children: NS.ageText(v.age)});
        if (!this.shown && (this.httpError || this.failures > 0)) {
            setProps(this.ids.body, {children: NS.renderWaiting(v)});
        }
        setProps(this.ids.system, {children: NS.renderSystem(v)});
        // Tests and curious operators can read the machine's state without scraping text.
        window.nvcdMonitor.state = {
            key: v.key, label: v.text, polling: this.polling, phase: this.phase,
            failures: this.failures, reconnects: this.reconnects,
            version: this.shown ? this.shown.version : null, via: this.via
        };
    };

    var noUpdate = function () { return window.dash_clientside.no_update; };

    window.dash_clientside = window.dash_clientside || {};
    window.dash_clientside.monitor = {
        start: function (settings) {
            if (ctrl) { ctrl.dispose(); }
            if (!settings) { return noUpdate(); }
            ctrl = new Controller(settings);
            NS.controller = ctrl;
            var url = ctrl.firstUrl();
            ctrl.paint();
            return url;
        },
        onState: function (state) {
            if (!ctrl || !state) { return noUpdate(); }
            if (state.readyState === 1) {
                ctrl.onOpen();
            } else if (state.readyState === 3) {
                ctrl.onClose(state.code ? 'closed with code ' + state.code : 'closed');
            }
            return noUpdate();
        },
        onMessage: function (message) {
            if (ctrl && message) { ctrl.onMessage(message); }
            return noUpdate();
        },
        onPoll: function () {
            if (ctrl && ctrl.polling) { ctrl.fetchSnapshot('poll'); }
            return noUpdate();
        },
        onRefresh: function () {
            if (ctrl) { ctrl.refresh(); }
            return noUpdate();
        }
    };
}());
