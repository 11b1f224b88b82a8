# Copyright 2026 The perception authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""
A campaign's figures and report: rates with 95% intervals, distributions, the worst runs.

summarize() turns the runs' results into summary.json's figures; write() writes summary.json,
report.md and report.html (plots as inline SVG, so the page is one file next to the runs'
plan pictures).
"""

from dataclasses import asdict
import html
import json
import math
import os
from typing import Dict, List, Sequence

from perception.core.stats import describe, histogram, wilson
from perception.sim import outcome as outcomes

#: How many of the worst runs the report lists.
WORST = 10
CLASSES = ('person', 'forklift', 'pallet', 'box')


def _rates(done: List[dict], results: List[dict]) -> Dict[str, dict]:
    o = [r['outcome'] for r in done]
    total = len(o)
    entered = [t for x in o for t in x['time_to_stop_s']]
    rates = {
        'collision': wilson(sum(x['collision'] for x in o), total),
        'false_stop': wilson(sum(x['false_stops'] > 0 for x in o), total),
        'near_miss': wilson(sum(x['near_miss'] for x in o), total),
        'reached_goal': wilson(sum(x['reached_goal'] for x in o), total),
        'person_latch': wilson(sum(x['person_latches'] > 0 for x in o), total),
        'intrusion_not_stopped': wilson(sum(t is None for t in entered), len(entered)),
        'infrastructure_failure': wilson(sum(r['status'] != 'ok' for r in results),
                                         len(results)),
    }
    for kind in CLASSES:
        rates[f'collision_{kind}'] = wilson(
            sum(any(c['class'] == kind for c in x['collisions']) for x in o), total)
    return {k: v.as_dict() | {'text': v.text()} for k, v in rates.items()}


def summarize(family, results: List[dict], out: str, wall_s: float, where: str, options,
              seed: int) -> dict:
    """Return a campaign's figures from its results (in seed order)."""
    done = [r for r in results if r['status'] == 'ok']
    clearance = {k: [r['outcome']['min_clearance_m'][k] for r in done
                     if k in r['outcome']['min_clearance_m']] for k in CLASSES}
    stop_times = [t for r in done for t in r['outcome']['time_to_stop_s'] if t is not None]
    worst = sorted(done, key=lambda r: outcomes.severity(r['outcome']))[:WORST]
    failures = [r for r in results if r['status'] != 'ok' or r.get('failed')]
    return {
        'family': family.name, 'description': family.description, 'source': family.source,
        'runs': len(results), 'seeds': [seed, seed + len(results) - 1], 'where': where,
        'options': asdict(options), 'wall_s': round(wall_s, 1),
        'runs_per_hour': round(3600 * len(results) / wall_s, 1) if wall_s > 0 else None,
        'completed': len(done), 'refused_draws': sum(r['redraws'] for r in results),
        'rates': _rates(done, results),
        'min_clearance_m': {k: describe(v) for k, v in clearance.items() if v},
        'clearance_samples': {k: v for k, v in clearance.items() if v},
        'time_to_stop_s': describe(stop_times), 'time_to_stop_samples': stop_times,
        # Of the simulation (from the moment simulated time starts), and of the whole run.
        'realtime_factor': describe([r['sim_realtime_factor'] for r in done
                                     if r.get('sim_realtime_factor')]),
        'realtime_factor_end_to_end': describe([r['realtime_factor'] for r in done
                                                if r.get('realtime_factor')]),
        'worst': [_brief(r, out) for r in worst],
        'failures': [_brief(r, out) for r in failures],
    }


def _brief(result: dict, out: str) -> dict:
    from perception.campaign.runner import replay_command
    seed = result['seed']
    run = os.path.join('runs', str(seed))
    brief = {'seed': seed, 'status': result['status'], 'values': result['values'],
             'replay': replay_command(out, seed), 'scenario': os.path.join(run, 'scenario.yaml')}
    if result['status'] != 'ok':
        brief['why'] = result['failure']
        return brief
    o = result['outcome']
    brief.update({'collisions': [f'{c["name"]} ({c["class"]}) at {c["speed"]:.2f} m/s, '
                                 f't={c["t"]:.1f} s' for c in o['collisions']],
                  'false_stops': o['false_stops'], 'min_clearance_m': o['min_clearance_m'],
                  'time_to_stop_s': o['time_to_stop_s']})
    if os.path.exists(os.path.join(out, run, 'report.md')):
        brief.update({'report': os.path.join(run, 'report.md'),
                      'plan': os.path.join(run, 'plan.png')})
    return brief


def _verdict_text(brief: dict) -> str:
    if brief['status'] != 'ok':
        return f'infrastructure failure: {brief["why"]}'
    parts = [f'collision: {c}' for c in brief['collisions']]
    if brief['false_stops']:
        parts.append(f'{brief["false_stops"]} false stop(s)')
    parts.append('closest ' + (', '.join(f'{k} {v:.2f} m' for k, v in
                                         brief['min_clearance_m'].items()) or '-'))
    return '; '.join(parts)


RATE_NAMES = {
    'collision': 'collision (any)', 'collision_person': 'collision with a person',
    'collision_forklift': 'collision with a forklift', 'collision_pallet':
    'collision with a pallet', 'collision_box': 'collision with a box', 'near_miss':
    f'near miss (< {outcomes.NEAR_MISS_M} m from a person or forklift)', 'false_stop':
    'false stop', 'intrusion_not_stopped': 'intrusion without a stop (per intrusion)',
    'person_latch': 'person latch', 'reached_goal': 'reached the goal',
    'infrastructure_failure': 'infrastructure failure (all runs)'}


def markdown(summary: dict) -> str:
    """Return report.md of a campaign."""
    s = summary
    lines = [f'# Campaign: {s["family"]}', '', s['description'], '',
             f'- {s["runs"]} runs, seeds {s["seeds"][0]} to {s["seeds"][1]}, on {s["where"]}; '
             f'{s["completed"]} completed; {s["refused_draws"]} impossible draws refused and '
             'drawn again',
             f'- wall time {s["wall_s"]:.0f} s: {s["runs_per_hour"]} runs per hour; real-time '
             f'factor per run: median {s["realtime_factor"]["median"]} while simulating, '
             f'{s["realtime_factor_end_to_end"]["median"]} with the stack\'s start', '',
             '## Rates (95% Wilson intervals)', '', '| what | rate |', '| --- | --- |']
    lines += [f'| {RATE_NAMES[k]} | {v["text"]} |' for k, v in s['rates'].items()]
    lines += ['', '## Distributions', '', '| figure | runs | min | p5 | median | p95 | max |',
              '| --- | --- | --- | --- | --- | --- | --- |']
    figures = [(f'closest approach to a {k} (m)', v) for k, v in s['min_clearance_m'].items()]
    figures.append(('time to stop after an intrusion (s)', s['time_to_stop_s']))
    for name, d in figures:
        cells = ['-' if d[k] is None else f'{d[k]:.2f}'
                 for k in ('min', 'p5', 'median', 'p95', 'max')]
        lines.append(f'| {name} | {d["count"]} | ' + ' | '.join(cells) + ' |')
    lines += ['', '## Worst runs', '', '| seed | outcome | replay |', '| --- | --- | --- |']
    lines += [f'| {w["seed"]} | {_verdict_text(w)} | `{w["replay"]}` |' for w in s['worst']]
    lines += ['', '## Failures', '']
    if not s['failures']:
        lines.append('None: no collision, no false stop, no infrastructure failure.')
    for f in s['failures']:
        lines += [f'### seed {f["seed"]}', '', f'- {_verdict_text(f)}',
                  f'- drawn: {", ".join(f"{k}={v}" for k, v in f["values"].items())}',
                  f'- scenario: [{f["scenario"]}]({f["scenario"]})',
                  f'- replay: `{f["replay"]}`']
        if 'report' in f:
            lines += [f'- report: [{f["report"]}]({f["report"]})', '',
                      f'![plan of seed {f["seed"]}]({f["plan"]})']
        lines.append('')
    return '\n'.join(lines) + '\n'


def svg_histogram(values: Sequence[float], title: str, unit: str, bins: int = 20,
                  width: int = 420, height: int = 180) -> str:
    """Return an SVG histogram of a sample."""
    edges, counts = histogram(values, bins)
    top = max(counts) or 1
    left, bottom, plot_w, plot_h = 40, 30, width - 50, height - 60
    bars = []
    for i, count in enumerate(counts):
        h = plot_h * count / top
        x = left + plot_w * i / bins
        bars.append(f'<rect x="{x:.1f}" y="{height - bottom - h:.1f}" width="'
                    f'{plot_w / bins - 1:.1f}" height="{h:.1f}" fill="#4a7fb5"><title>'
                    f'{edges[i]:.2f} to {edges[i + 1]:.2f} {unit}: {count}</title></rect>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'role="img"><text x="{left}" y="16" font-size="13">{html.escape(title)} '
            f'({len([v for v in values if v is not None])} values)</text>'
            + ''.join(bars) +
            f'<line x1="{left}" y1="{height - bottom}" x2="{left + plot_w}" y2="'
            f'{height - bottom}" stroke="black"/>'
            f'<text x="{left}" y="{height - 10}" font-size="11">{edges[0]:.2f} {unit}</text>'
            f'<text x="{left + plot_w}" y="{height - 10}" font-size="11" text-anchor="end">'
            f'{edges[-1]:.2f} {unit}</text>'
            f'<text x="{left - 4}" y="{height - bottom - plot_h + 4}" font-size="11" '
            f'text-anchor="end">{top}</text></svg>')


def svg_rates(rates: Dict[str, dict], width: int = 640) -> str:
    """Return an SVG of each rate as a point with its 95% interval, on a 0-100% axis."""
    rows = list(rates.items())
    height = 24 * len(rows) + 30
    left, plot_w = 300, width - 320
    parts = []
    for i, (key, rate) in enumerate(rows):
        y = 20 + 24 * i
        low, high = rate['ci95']
        parts.append(f'<text x="{left - 8}" y="{y + 4}" font-size="12" text-anchor="end">'
                     f'{html.escape(RATE_NAMES[key])}</text>'
                     f'<line x1="{left + plot_w * low:.1f}" y1="{y}" x2="'
                     f'{left + plot_w * high:.1f}" y2="{y}" stroke="#b54a4a" '
                     'stroke-width="3"/>')
        if rate['rate'] is not None:
            parts.append(f'<circle cx="{left + plot_w * rate["rate"]:.1f}" cy="{y}" r="4">'
                         f'<title>{html.escape(rate["text"])}</title></circle>')
    axis = height - 8
    parts.append(f'<line x1="{left}" y1="{axis - 6}" x2="{left + plot_w}" y2="{axis - 6}" '
                 'stroke="black"/>')
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<text x="{left + plot_w * tick:.1f}" y="{axis + 4}" font-size="10" '
                     f'text-anchor="middle">{100 * tick:.0f}%</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 6}" '
            f'role="img">{"".join(parts)}</svg>')


def page(summary: dict) -> str:
    """Return report.html of a campaign: rates, plots, the worst runs and every failure."""
    s = summary
    e = html.escape
    rows = ''.join(f'<tr><td>{e(RATE_NAMES[k])}</td><td>{e(v["text"])}</td></tr>'
                   for k, v in s['rates'].items())
    plots = [svg_histogram(v, f'closest approach to a {k}', 'm')
             for k, v in s['clearance_samples'].items()]
    plots.append(svg_histogram(s['time_to_stop_samples'], 'time to stop after an intrusion',
                               's'))
    worst = ''.join(f'<tr><td>{w["seed"]}</td><td>{e(_verdict_text(w))}</td><td><code>'
                    f'{e(w["replay"])}</code></td></tr>' for w in s['worst'])
    failures = []
    for f in s['failures']:
        item = (f'<h3>seed {f["seed"]}</h3><p>{e(_verdict_text(f))}</p><p>drawn: '
                f'{e(", ".join(f"{k}={v}" for k, v in f["values"].items()))}</p>'
                f'<p>scenario: <a href="{e(f["scenario"])}">{e(f["scenario"])}</a></p>'
                f'<p>replay: <code>{e(f["replay"])}</code></p>')
        if 'report' in f:
            item += (f'<p><a href="{e(f["report"])}">report</a></p><img src="{e(f["plan"])}" '
                     f'alt="plan of seed {f["seed"]}" style="max-width:100%">')
        failures.append(item)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Campaign {e(s['family'])}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}
code{{font-size:12px}}svg{{margin:8px}}</style></head><body>
<h1>Campaign: {e(s['family'])}</h1><p>{e(s['description'])}</p>
<p>{s['runs']} runs, seeds {s['seeds'][0]} to {s['seeds'][1]}, on {e(s['where'])};
{s['completed']} completed; {s['refused_draws']} impossible draws refused and drawn again.
Wall time {s['wall_s']:.0f} s ({s['runs_per_hour']} runs per hour); real-time factor per run:
median {s['realtime_factor']['median']} while simulating,
{s['realtime_factor_end_to_end']['median']} with the stack's start.</p>
<h2>Rates with 95% Wilson intervals</h2>{svg_rates(s['rates'])}
<table><tr><th>what</th><th>rate</th></tr>{rows}</table>
<h2>Distributions</h2>{''.join(plots)}
<h2>Worst runs</h2><table><tr><th>seed</th><th>outcome</th><th>replay</th></tr>{worst}</table>
<h2>Failures</h2>{''.join(failures) or '<p>None.</p>'}
</body></html>
"""


def write(summary: dict, results: List[dict], out: str) -> None:
    """Write summary.json, report.md and report.html of a campaign into out."""
    with open(os.path.join(out, 'summary.json'), 'w', encoding='utf-8') as stream:
        json.dump(summary, stream, indent=2, default=_json_default)
    with open(os.path.join(out, 'report.md'), 'w', encoding='utf-8') as stream:
        stream.write(markdown(summary))
    with open(os.path.join(out, 'report.html'), 'w', encoding='utf-8') as stream:
        stream.write(page(summary))


def _json_default(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    raise TypeError(f'cannot write {type(value).__name__} as JSON')
