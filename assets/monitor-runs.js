/* Live monitor: the run history. Which run is "last finished", the strip of recent runs, links to
 * /runs/<id>, and the "include replay runs" control (remembered in the URL query, ?replay=include).
 *
 * Pure functions of the snapshot and the page's settings, drawn with monitor-render.js's helpers
 * (window.nvcdMonitor.ui); every figure comes from the snapshot on screen. The snapshot carries both
 * views (recent_runs / last_run with replay, recent_import_runs / last_import_run without), so the
 * control redraws from what is on screen, without a server round trip.
 */
(function () {
    'use strict';

    var NS = window.nvcdMonitor = window.nvcdMonitor || {};
    var REPLAY_VALUE = 'include';

    function includeReplay(settings) {
        return Boolean(settings && settings.include_replay);
    }

    /* A snapshot from a server without the run history has only last_run and recent_runs. */
    function pick(snapshot, withReplay, withoutReplay) {
        return snapshot[withoutReplay] === undefined ? snapshot[withReplay] : snapshot[withoutReplay];
    }

    function runHref(settings, id) {
        return ((settings && settings.runs_path) || '/runs/') + encodeURIComponent(String(id));
    }

    /* A link to the run's page; in the embed it opens a new tab rather than leave the partner's frame. */
    function runLink(settings, id, label) {
        var ui = NS.ui;
        var props = {href: runHref(settings, id), className: 'monitor-run-link'};
        if (settings && settings.compact) { props.target = '_blank'; props.rel = 'noopener noreferrer'; }
        return ui.h('A', props, label);
    }

    function lastFinished(snapshot, settings) {
        if (includeReplay(settings)) {
            return {run: snapshot.last_run, emptyText: 'No run has finished yet.'};
        }
        return {run: pick(snapshot, 'last_run', 'last_import_run'),
                emptyText: 'No import run (cli, api or feed) has finished yet; replay runs are hidden.'};
    }

    function changes(run) {
        var ui = NS.ui;
        return ui.fmtInt(run.events_new) + ' / ' + ui.fmtInt(run.events_updated) + ' / ' + ui.fmtInt(run.events_withdrawn);
    }

    function stripRow(run, settings) {
        var ui = NS.ui, h = ui.h;
        var cells = [
            h('Th', {scope: 'row'}, runLink(settings, run.id, '#' + run.id)),
            h('Td', {}, run.trigger),
            h('Td', {}, ui.badge(run.status)),
            h('Td', {className: 'num monitor-strip-changes'}, changes(run)),
            h('Td', {className: 'num'}, ui.fmtDuration(run.duration_s)),
            h('Td', {}, run.dataset + (run.dry_run ? ' (dry run)' : ''))
        ];
        if (!settings || !settings.compact) {
            cells.push(h('Td', {}, run.finished_at ? ui.fmtTime(run.finished_at) : 'not finished'));
        }
        // The error is an attribute here (React escapes it); the alert and the run's page show it in full.
        var props = {className: 'monitor-strip-' + run.status, 'data-run-id': String(run.id)};
        if (run.error) { props.title = run.error; }
        return h('Tr', props, cells);
    }

    function strip(snapshot, settings) {
        var ui = NS.ui, h = ui.h;
        var withReplay = includeReplay(settings);
        var runs = (withReplay ? snapshot.recent_runs : pick(snapshot, 'recent_runs', 'recent_import_runs')) || [];
        var which = withReplay ? 'all triggers, replay included' : 'import runs (cli, api, feed); replay hidden';
        if (!runs.length) {
            return ui.section('Recent runs', [h('P', {className: 'monitor-empty'}, 'No run yet (' + which + ').')],
                              'monitor-strip');
        }
        var headers = ['Run', 'Trigger', 'Status', 'Created / updated / withdrawn', 'Duration', 'Dataset'];
        if (!settings || !settings.compact) { headers.push('Finished'); }
        return ui.section('Recent runs', [
            h('P', {className: 'monitor-note'}, 'The last ' + runs.length + ' runs, ' + which +
              ': unfinished first, then by finish time. Open a run for its stages, issues and changes.'),
            ui.table(headers, runs.map(function (run) { return stripRow(run, settings); }), 'Recent runs')
        ], 'monitor-strip');
    }

    /* An alert about a run links to the run's page. */
    function alertLink(alert, settings) {
        if (typeof alert.run_id !== 'number') { return []; }
        return [' ', runLink(settings, alert.run_id, 'Open run #' + alert.run_id)];
    }

    NS.runs = {lastFinished: lastFinished, strip: strip, alertLink: alertLink, includeReplay: includeReplay};

    /* Keep the choice in the address (replaceState: no navigation, Dash does not re-render the page). */
    function rememberInUrl(on, param) {
        var url = new URL(window.location.href);
        if (on) { url.searchParams.set(param, REPLAY_VALUE); } else { url.searchParams.delete(param); }
        window.history.replaceState(window.history.state, '', url.toString());
    }

    window.dash_clientside = window.dash_clientside || {};
    window.dash_clientside.monitorRuns = {
        onReplayToggle: function (value) {
            var on = Array.isArray(value) && value.indexOf(REPLAY_VALUE) !== -1;
            var ctrl = NS.controller;
            if (ctrl && !ctrl.disposed) {
                ctrl.s.include_replay = on;
                rememberInUrl(on, ctrl.s.replay_param || 'replay');
                if (ctrl.shown) {
                    window.dash_clientside.set_props(ctrl.ids.body, {children: NS.renderSnapshot(ctrl.shown, ctrl.s)});
                }
            }
            return window.dash_clientside.no_update;
        }
    };
}());
