/* Live monitor: turn a pipeline-status snapshot into Dash component JSON.
 *
 * Pure functions of the snapshot (and of the connection view for the status and
 * system sections): every figure shown comes from the snapshot on screen, so
 * the panel never mixes numbers of two versions.
 */
(function () {
    'use strict';

    var NS = window.nvcdMonitor = window.nvcdMonitor || {};

    function h(type, props, children) {
        var p = Object.assign({}, props || {});
        if (children !== undefined) { p.children = children; }
        return {type: type, namespace: 'dash_html_components', props: p};
    }

    function fmtInt(n) {
        return (n === null || n === undefined) ? '—' : Number(n).toLocaleString('en-GB');
    }

    function fmtPct(rate) {
        return (rate === null || rate === undefined) ? '—' : (rate * 100).toFixed(1) + '%';
    }

    function fmtDuration(seconds) {
        if (seconds === null || seconds === undefined) { return '—'; }
        if (seconds < 1) { return Math.round(seconds * 1000) + ' ms'; }
        if (seconds < 120) { return seconds.toFixed(1) + ' s'; }
        var m = Math.floor(seconds / 60);
        return m + ' min ' + Math.round(seconds - m * 60) + ' s';
    }

    function fmtTime(iso) {
        if (!iso) { return '—'; }
        var d = new Date(iso);
        if (isNaN(d.getTime())) { return String(iso); }
        return d.toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
    }

    function ageText(ms) {
        if (ms === null || ms === undefined) { return 'no data yet'; }
        var s = Math.max(0, Math.floor(ms / 1000));
        if (s < 90) { return 'updated ' + s + ' s ago'; }
        var m = Math.floor(s / 60);
        if (m < 90) { return 'updated ' + m + ' min ago'; }
        return 'updated ' + Math.floor(m / 60) + ' h ' + (m % 60) + ' min ago';
    }
    NS.ageText = ageText;

    /* Direction of a rate change as text and arrow, so colour is never the only cue. */
    function trend(delta, short) {
        if (delta === null || delta === undefined) {
            return h('Span', {className: 'monitor-trend monitor-trend-none', title: 'no previous run'},
                     short ? '' : 'no previous run');
        }
        var pts = delta * 100;
        if (Math.abs(pts) < 0.05) {
            return h('Span', {className: 'monitor-trend monitor-trend-flat', title: 'unchanged versus the previous run'}, '= 0.0 pts');
        }
        var up = pts > 0;
        return h('Span', {
            className: 'monitor-trend ' + (up ? 'monitor-trend-up' : 'monitor-trend-down'),
            title: (up ? 'up ' : 'down ') + Math.abs(pts).toFixed(1) + ' points versus the previous run'
        }, (up ? '▲ +' : '▼ −') + Math.abs(pts).toFixed(1) + ' pts');
    }

    function sparkline(history, key, label) {
        var points = (history || []).filter(function (row) { return row[key] !== null && row[key] !== undefined; });
        if (points.length < 2) { return null; }
        var values = points.map(function (row) { return row[key]; });
        var lo = Math.min.apply(null, values), hi = Math.max.apply(null, values);
        var span = hi - lo;
        var bars = values.map(function (v, i) {
            var height = span > 0 ? 15 + 85 * (v - lo) / span : 60;
            return h('Span', {className: 'monitor-spark-bar', style: {height: height.toFixed(0) + '%'},
                              title: fmtTime(points[i].timestamp) + ': ' + fmtPct(v)});
        });
        return h('Span', {
            className: 'monitor-spark', role: 'img',
            'aria-label': label + ', last ' + values.length + ' runs: from ' + fmtPct(values[0]) +
                ' to ' + fmtPct(values[values.length - 1]) + ' (range ' + fmtPct(lo) + '–' + fmtPct(hi) + ')'
        }, bars);
    }

    function badge(status) {
        var s = status || 'unknown';
        return h('Span', {className: 'monitor-badge monitor-badge-' + s}, s);
    }

    function section(title, children, extraClass) {
        return h('Section', {className: 'monitor-section ' + (extraClass || ''), 'aria-label': title},
                 [h('H2', {}, title)].concat(children));
    }

    function table(headers, rows, caption) {
        return h('Div', {className: 'monitor-table-wrap'}, h('Table', {className: 'monitor-table'}, [
            caption ? h('Caption', {className: 'monitor-sr-only'}, caption) : null,
            h('Thead', {}, h('Tr', {}, headers.map(function (x) { return h('Th', {scope: 'col'}, x); }))),
            h('Tbody', {}, rows)
        ].filter(Boolean)));
    }

    function stageRows(stages, withErrors) {
        return (stages || []).map(function (st) {
            return h('Tr', {className: 'monitor-stage-' + st.status}, [
                h('Th', {scope: 'row'}, st.name),
                h('Td', {}, badge(st.status)),
                h('Td', {className: 'num'}, fmtInt(st.items_in) + ' → ' + fmtInt(st.items_out)),
                h('Td', {className: 'num'}, fmtDuration(st.duration_s)),
                withErrors ? h('Td', {}, st.error || '') : null
            ].filter(Boolean));
        });
    }

    /* How the run treats its dataset: a snapshot (full export) also withdraws what it no longer holds. */
    function modeText(run) {
        var mode = (run.mode === 'snapshot' ? 'snapshot of ' : 'import into ') + (run.dataset || '—');
        return run.dry_run ? mode + ' · dry run (nothing written)' : mode;
    }

    function runBlock(run, title, emptyText) {
        if (!run) { return section(title, [h('P', {className: 'monitor-empty'}, emptyText)]); }
        var facts = [
            ['Run', '#' + run.id + ' (' + run.trigger + ')'],
            ['Status', badge(run.status)],
            ['Mode', modeText(run)],
            ['File', run.source_file || '—'],
            ['Started', fmtTime(run.started_at)],
            ['Finished', run.finished_at ? fmtTime(run.finished_at) : 'still running'],
            ['Duration', fmtDuration(run.duration_s)],
            ['Records in / out', fmtInt(run.items_in) + ' / ' + fmtInt(run.items_out)],
            ['Created / updated / withdrawn', h('Span', {className: 'monitor-run-changes'},
                fmtInt(run.events_new) + ' / ' + fmtInt(run.events_updated) + ' / ' + fmtInt(run.events_withdrawn))],
            ['Unchanged, restored', fmtInt(run.events_unchanged) + ', ' + fmtInt(run.events_restored)],
            ['Skipped rows, duplicates in batch', fmtInt(run.rows_skipped) + ', ' + fmtInt(run.duplicates_in_batch)]
        ];
        var children = [h('Dl', {className: 'monitor-facts'}, [].concat.apply([], facts.map(function (f) {
            return [h('Dt', {}, f[0]), h('Dd', {}, f[1])];
        })))];
        if (run.error) { children.push(h('P', {className: 'monitor-error', role: 'alert'}, 'Error: ' + run.error)); }
        var withErrors = (run.stages || []).some(function (st) { return st.error; });
        var headers = ['Stage', 'Status', 'Items in → out', 'Duration'].concat(withErrors ? ['Error'] : []);
        children.push(table(headers, stageRows(run.stages, withErrors), title + ': stages'));
        return section(title, children, 'monitor-run');
    }

    function rateFigure(label, latest, delta, history, key) {
        return h('Div', {className: 'monitor-figure'}, [
            h('Div', {className: 'monitor-figure-label'}, label),
            h('Div', {className: 'monitor-figure-value'}, fmtPct(latest ? latest[key] : null)),
            trend(delta),
            sparkline(history, key, label)
        ].filter(Boolean));
    }

    function qualityBlock(dq) {
        dq = dq || {};
        var latest = dq.latest, trendBy = dq.trend || {};
        if (!latest) { return section('Data quality', [h('P', {className: 'monitor-empty'}, 'No data-quality measurement yet.')]); }
        var figures = h('Div', {className: 'monitor-figures'}, [
            rateFigure('Geocoding success', latest, trendBy.geocoding_success_rate, dq.history, 'geocoding_success_rate'),
            rateFigure('Validation pass', latest, trendBy.validation_pass_rate, dq.history, 'validation_pass_rate'),
            rateFigure('Completeness', latest, trendBy.completeness, dq.history, 'completeness')
        ]);
        var p = latest.precision || {};
        var summary = h('P', {className: 'monitor-note'},
            'Run #' + latest.run_id + ', ' + fmtInt(latest.events) + ' events; geocoded to ward ' + fmtInt(p.ward) +
            ', LGA ' + fmtInt(p.lga) + ', state ' + fmtInt(p.state) + ', none ' + fmtInt(p.none) +
            '; duplicates ' + fmtInt(latest.duplicates) + '; derived counts ' + fmtInt(latest.derived_counts) + '.');
        var rows = (dq.by_source || []).map(function (src) {
            var t = src.trend || {};
            return h('Tr', {}, [
                h('Th', {scope: 'row'}, src.source),
                h('Td', {className: 'num'}, fmtInt(src.events)),
                h('Td', {className: 'num'}, [fmtPct(src.geocoding_success_rate), ' ', trend(t.geocoding_success_rate, true)]),
                h('Td', {className: 'num'}, [fmtPct(src.validation_pass_rate), ' ', trend(t.validation_pass_rate, true)])
            ]);
        });
        var children = [figures, summary];
        if (rows.length) {
            children.push(table(['Source', 'Events', 'Geocoding', 'Validation'], rows, 'Data quality by source'));
        }
        return section('Data quality', children, 'monitor-quality');
    }

    function sourcesBlock(sources) {
        if (!sources || !sources.length) {
            return section('Source health', [h('P', {className: 'monitor-empty'}, 'No sources seen yet.')]);
        }
        var silent = sources.filter(function (s) { return s.silent; }).length;
        var rows = sources.map(function (s) {
            return h('Tr', {className: s.silent ? 'monitor-silent' : ''}, [
                h('Th', {scope: 'row'}, s.source),
                h('Td', {className: 'num'}, fmtInt(s.events)),
                h('Td', {}, s.last_event_date || '—'),
                h('Td', {}, s.silent
                    ? h('Strong', {}, 'silent ' + fmtInt(s.silent_days) + ' d (usual gap ' + fmtInt(s.usual_gap_days) + ' d)')
                    : 'active')
            ]);
        });
        return section('Source health', [
            h('P', {className: 'monitor-note'}, silent ? silent + ' of ' + sources.length + ' sources silent.' :
                'All ' + sources.length + ' sources reporting.'),
            table(['Source', 'Events', 'Last event', 'Health'], rows, 'Source health')
        ], 'monitor-sources');
    }

    function fmtEvery(seconds) {
        if (seconds === null || seconds === undefined) { return '—'; }
        var units = [[86400, ' d'], [3600, ' h'], [60, ' min']];
        for (var i = 0; i < units.length; i++) {
            if (seconds >= units[i][0] && seconds % units[i][0] === 0) { return (seconds / units[i][0]) + units[i][1]; }
        }
        return seconds + ' s';
    }

    /* Scheduled feeds: one row each (last fetch and its outcome, next due, last error); no URLs. */
    function feedsBlock(feeds) {
        var rows = feeds.map(function (f) {
            return h('Tr', {className: 'monitor-feed-' + (f.last_outcome || 'new')}, [
                h('Th', {scope: 'row'}, f.name),
                h('Td', {}, f.dataset + (f.snapshot ? ' (snapshot)' : '')),
                h('Td', {}, fmtEvery(f.every_seconds)),
                h('Td', {}, fmtTime(f.last_fetch_at)),
                h('Td', {}, f.last_outcome ? badge(f.last_outcome) : 'not fetched yet'),
                h('Td', {}, fmtTime(f.next_due_at)),
                h('Td', {}, f.last_error || '')
            ]);
        });
        return section('Scheduled feeds', [
            table(['Feed', 'Into', 'Every', 'Last fetch', 'Outcome', 'Next due', 'Last error'], rows, 'Scheduled feeds')
        ], 'monitor-feeds');
    }

    /* Alerts already carry the anomalies they come from; list each finding once. */
    function issuesBlock(anomalies, alerts, settings) {
        var seen = {};
        var findings = (alerts || []).concat(anomalies || []).filter(function (a) {
            var key = a.severity + '|' + (a.kind || '') + '|' + a.message;
            if (seen[key]) { return false; }
            seen[key] = true;
            return true;
        });
        if (!findings.length) {
            return section('Anomalies and alerts', [h('P', {className: 'monitor-empty'}, 'No anomalies or alerts.')]);
        }
        var items = findings.map(function (a) {
            return h('Li', {className: 'monitor-issue monitor-issue-' + a.severity}, [
                h('Strong', {}, a.severity + (a.kind ? ' · ' + a.kind.replace(/_/g, ' ') : '') + ': '), a.message
            ].concat(NS.runs.alertLink(a, settings)));
        });
        return section('Anomalies and alerts', [h('Ul', {className: 'monitor-issues'}, items)], 'monitor-alerts');
    }

    function overview(snapshot) {
        var totals = snapshot.totals || {};
        return h('Div', {className: 'monitor-overview'}, [
            h('Div', {className: 'monitor-overall'}, [h('Span', {className: 'monitor-figure-label'}, 'Pipeline '),
                                                       badge(snapshot.status)]),
            h('Div', {className: 'monitor-total'}, [h('Span', {className: 'monitor-figure-value', id: 'monitor-total-events'},
                fmtInt(totals.events)), ' events']),
            h('Div', {className: 'monitor-total'}, [h('Span', {className: 'monitor-figure-value'}, fmtInt(totals.runs)), ' runs']),
            // Events with an error-severity issue: the complement of the validation pass rate.
            h('Div', {className: 'monitor-total'}, [h('Span', {className: 'monitor-figure-value', id: 'monitor-total-failing'},
                fmtInt(totals.validation_failures)), ' events failing validation'])
        ]);
    }

    // What assets/monitor-runs.js (the run history) draws with.
    NS.ui = {h: h, fmtInt: fmtInt, fmtDuration: fmtDuration, fmtTime: fmtTime, badge: badge, section: section,
             table: table};

    NS.renderSnapshot = function (snapshot, settings) {
        var last = NS.runs.lastFinished(snapshot, settings);
        return [
            overview(snapshot),
            runBlock(snapshot.current_run, 'Running now', 'No run in progress.'),
            runBlock(last.run, 'Last finished run', last.emptyText),
            NS.runs.strip(snapshot, settings),
            qualityBlock(snapshot.data_quality),
            sourcesBlock(snapshot.sources),
            (snapshot.feeds && snapshot.feeds.length) ? feedsBlock(snapshot.feeds) : null,
            issuesBlock(snapshot.anomalies, snapshot.alerts, settings)
        ].filter(Boolean);
    };

    NS.partsText = function (parts) {
        return parts.map(function (part) { return typeof part === 'string' ? part : part.tick; }).join('');
    };

    function renderParts(parts) {
        return parts.map(function (part) {
            return typeof part === 'string' ? part : h('Span', {'aria-hidden': 'true'}, part.tick);
        });
    }

    NS.renderState = function (v) {
        return [
            h('Span', {className: 'monitor-state-dot', 'aria-hidden': 'true'}),
            h('Span', {className: 'monitor-state-label'}, renderParts(v.label)),
            v.detail.length ? h('Span', {className: 'monitor-state-detail'}, [' — '].concat(renderParts(v.detail))) : null
        ].filter(Boolean);
    };

    NS.renderWaiting = function (v) {
        var why = v.httpError ? 'the HTTP status endpoint answered: ' + v.httpError
            : (v.closeReason ? 'the live connection ' + v.closeReason : 'the server has not answered yet');
        return h('Div', {className: 'monitor-error', role: 'alert'},
                 'The pipeline status could not be loaded yet (' + why + '). Retrying automatically; ' +
                 'press Refresh to try now.');
    };

    NS.renderSystem = function (v) {
        var snap = v.shown || {}, sys = snap.system || {};
        // What the server said about itself is only current while we hear from it.
        var asOf = (v.key === 'live' || v.key === 'polling') ? '' : ' (as of the last update)';
        var facts = [
            ['Connection', v.method],
            ['Failed attempts in a row', fmtInt(v.failures)],
            ['Reconnects since page load', fmtInt(v.reconnects)],
            ['Last update', ageText(v.age).replace('updated ', '')],
            ['Status version', snap.version === undefined ? '—' : fmtInt(snap.version) + (v.via ? ' (via ' + v.via + ')' : '')],
            ['Database', v.beatDatabase && v.key === 'live' ? v.beatDatabase
                : (sys.database ? sys.database + asOf : '—')],
            ['Clients connected (at last change)', sys.clients === undefined ? '—' : fmtInt(sys.clients) + asOf]
        ];
        var children = [h('H2', {}, 'System health'), h('Dl', {className: 'monitor-facts'},
            [].concat.apply([], facts.map(function (f) { return [h('Dt', {}, f[0]), h('Dd', {}, f[1])]; })))];
        if (v.problem) { children.push(h('P', {className: 'monitor-error', role: 'alert'}, v.problem)); }
        return children;
    };
}());
