/**
 * The benchmark's report: the table on stdout, and the HTML page (inline SVG) with its PNG
 * beside the JSON. Works from the JSON alone, so `--render <file.json>` redraws an earlier run
 * (runs from before a key existed show it as not measured).
 */
import { writeFileSync } from 'node:fs';
import { renderPng } from '../../../services/cli/src/report/png.js';
import { LOADS } from './latency.js';
import { barChart, CLIENT_COLORS, colorOf, esc, htmlTable, lineChart, page, type Series } from './plots.js';
import { formatProfile } from './profile.js';
import type { Result } from './summary.js';
import { fmt, fmtInt, pct } from './stats.js';
import { say } from './ui.js';

const CLIENTS = ['kafkajs', 'librdkafka'] as const;
const sfx = (c: string) => (c === 'librdkafka' ? '-rdk' : '');
const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);

/** Rows of the side-by-side comparison: [label, mode per client]. */
function sideBySide(r: Result): { label: string; modes: [string, string] }[] {
  return [
    { label: 'bare pass-through (baseline)', modes: ['kjs-raw', 'rdk-pipe'] as [string, string] },
    ...['pipe-alo', 'pipe-eos', 'alo', 'eos', 'alo-off', 'alo-100'].map((b) => ({
      label: r.modes[b]?.label.replace(/, kafkajs$/, '') ?? r.modes[`${b}-rdk`]?.label.replace(/, librdkafka$/, '') ?? b,
      modes: [b, `${b}-rdk`] as [string, string],
    })),
  ].filter((row) => row.modes.some((m) => r.modes[m]));
}

function latencyOf(r: Result, mode: string) {
  return r.latency.find((x) => x.mode === mode);
}

/** "p50/p99/p99.9" at each load, " | "-separated. */
function latencyText(r: Result, mode: string): string {
  const l = latencyOf(r, mode);
  if (!l) return '';
  if (!l.phases.length) return l.error ? `FAILED: ${l.error.slice(0, 80)}` : '';
  return l.phases.map((p) => `${fmt(p.p50)}/${fmt(p.p99)}/${fmt(p.p999)}`).join(' | ');
}

function probesText(l: Result['latency'][number]): string {
  return (l.probes ?? []).map((p) => `${fmtInt(p.offeredEps)} ${p.sustainable ? '✓' : '✗'}${p.publisherLimited ? '(gen-limited)' : ''}`).join(', ');
}

function valueText(k: string, v: number): string {
  return k.includes('ratio') ? pct(v) : k.includes('bytes') ? `${fmtInt(v)} B` : k.endsWith('_eps') ? `${fmtInt(v)} ev/s` : k.includes('_us_') ? `${fmt(v)} µs` : `${fmt(v)} ms`;
}

export function renderTable(r: Result): string {
  const lines: string[] = [];
  const pad = (s: string, n: number) => s.padEnd(n);
  const lpad = (s: string, n: number) => s.padStart(n);
  const basis = r.latency.some((l) => l.basis && l.basis !== 'max') ? 'sustainable' : 'max';
  const header = `${pad('configuration', 46)}${lpad('max ev/s', 10)}${lpad('runs', 5)}${lpad('×rdk', 7)}${lpad('×pipe', 7)}${lpad('cpu', 6)}${lpad('µs/ev', 7)}${lpad('broker', 7)}${lpad('RSS', 6)}${lpad('sustain', 9)}   latency p50/p99/p99.9 ms @ 25 | 50 | 75 % of ${basis}`;
  lines.push(header, '-'.repeat(header.length + 20));
  for (const [m, d] of Object.entries(r.modes)) {
    const vsBase = m.includes('@') && !m.endsWith('@base')
      ? `   [${fmt(d.ratio_to_base, 2)} × base ev/s, ${fmt(d.ratio_cpu_per_event_to_base, 2)} × base µs/ev]`
      : '';
    const runs = d.runs.filter((x) => x.ok).length;
    const failed = d.runs.find((x) => !x.ok)?.error;
    lines.push(
      `${pad(d.label, 46)}${lpad(fmtInt(d.median_eps), 10)}${lpad(String(runs), 5)}${lpad(fmt(num(d.ratio_to_rdk_pipe), 2), 7)}${lpad(fmt(d.ratio_to_pipe, 2), 7)}${lpad(fmt(d.median_cpu_cores, 2), 6)}${lpad(fmt(d.median_cpu_us_per_event, 1), 7)}${lpad(fmt(d.median_broker_cpu_cores, 2), 7)}${lpad(fmt(d.max_peak_rss_mb, 0), 6)}${lpad(fmtInt(num(d.sustainable_eps)), 9)}   ${latencyText(r, m)}${vsBase}` +
        (runs === 0 && failed ? `   FAILED: ${failed.slice(0, 160)}` : ''),
    );
  }
  if (r.quick) lines.push('', 'QUICK mode: drains and probes of a few seconds on a shared machine; these figures check that every code path runs, not the targets (use the full run).');
  lines.push('', '(×rdk: to the bare librdkafka pass-through; ×pipe: to the pipe of the same delivery and client; cpu: cores used by the measured process while draining, µs/ev: its CPU per event; broker: the broker JVM\'s cores meanwhile; sustain: the highest live rate with bounded lag)');

  // Both clients side by side.
  const client = r.default_kafka_client ?? 'kafkajs';
  lines.push('', `clients side by side (default client: ${client}):`);
  lines.push(`  ${pad('', 34)}${lpad('kafkajs', 26)}${lpad('librdkafka', 26)}`);
  const cell = (m: string) => {
    const d = r.modes[m];
    if (!d) return '';
    if (!Number.isFinite(d.median_eps)) return d.runs.length ? 'failed' : '';
    return `${fmtInt(d.median_eps)} ev/s ${fmt(d.median_cpu_us_per_event, 1)} µs`;
  };
  for (const row of sideBySide(r)) lines.push(`  ${pad(row.label, 34)}${lpad(cell(row.modes[0]), 26)}${lpad(cell(row.modes[1]), 26)}`);
  for (const d of ['alo', 'eos']) {
    const at = (m: string) => {
      const l = latencyOf(r, m);
      const p = l?.phases.find((x) => x.loadPct === 50);
      return l ? (p ? `${fmt(p.p99)} ms (visible ${fmt(p.visibleP99)})` : 'failed') : '';
    };
    const sus = (m: string) => (latencyOf(r, m) ? `${fmtInt(latencyOf(r, m)!.sustainableEps)} ev/s` : '');
    lines.push(`  ${pad(`${d.toUpperCase()} sustainable live rate`, 34)}${lpad(sus(d), 26)}${lpad(sus(`${d}-rdk`), 26)}`);
    lines.push(`  ${pad(`${d.toUpperCase()} p99 @ 50 % of it`, 34)}${lpad(at(d), 26)}${lpad(at(`${d}-rdk`), 26)}`);
  }

  // Node versions.
  const nodes = Object.entries(r.config.nodes ?? {});
  if (nodes.length > 1) {
    lines.push('', `node versions (kafkajs scorer, at-least-once): ${nodes.map(([k, v]) => `${v}: ${fmtInt(num((r as Record<string, unknown>)[`${k}_alo_eps`]))} ev/s, ${fmt(num((r as Record<string, unknown>)[`${k}_alo_cpu_us_per_event`]), 1)} µs/ev`).join(' | ')}`);
  }

  // The sustainable-rate searches.
  if (r.latency.length) {
    lines.push('', 'sustainable live rate (lag bounded while the generator runs):');
    for (const l of r.latency) {
      const how =
        l.basis === 'search'
          ? `searched: ${probesText(l)}`
          : l.basis === 'capacity'
            ? `searched, no probe held: ${probesText(l)}; loads from ${fmtInt(l.loadBaseEps)} (95 % of the last probe's output rate)`
            : l.basis === 'given'
              ? 'given (--sustainable-eps)'
              : 'not searched: loads from the drained maximum';
      lines.push(`  ${pad(l.mode, 16)} ${lpad(fmtInt(l.sustainableEps), 8)} ev/s  (drained max ${fmtInt(l.maxEps)}; ${how})${l.ok ? '' : `  FAILED: ${l.error ?? ''}`}`);
    }
  }

  lines.push('', 'targets (issues 11, 6, 4):');
  for (const [k, t] of Object.entries(r.targets)) lines.push(`  ${pad(k, 30)} ${lpad(valueText(k, t.value), 10)}  ${pad(t.target, 64)} ${t.verdict}`);
  lines.push('', `tracing overhead (ALO, ${r.tracing_client ?? 'kafkajs'}): off ${fmtInt(r.tracing_off_eps)} ev/s | 1 % ${fmtInt(r.tracing_1pct_eps)} (${pct(r.tracing_1pct_ratio)} of off) | 100 % ${fmtInt(r.tracing_100pct_eps)} (${pct(r.tracing_100pct_ratio)} of off)`);
  lines.push(`  by CPU per event (off ÷ traced): 1 % ${pct(r.tracing_1pct_cpu_ratio)}, 100 % ${pct(r.tracing_100pct_cpu_ratio)}`);
  if (r.state) lines.push(`card state: ${fmtInt(r.state.cards)} cards: ${fmtInt(r.state.processBytesPerCard)} B/card as the process sees it (heap + buffers, incl. Map and tokens), ${fmtInt(r.state.storeBytesPerCard)} B/card in the store's arrays`);
  return lines.join('\n');
}

export function renderHtml(r: Result): string {
  const drains = Object.values(r.modes).flatMap((d) => d.runs);
  const parts: string[] = [];
  const client = r.default_kafka_client ?? 'kafkajs';
  parts.push(`<h1>fraudscore benchmark${r.quick ? ' (quick)' : ''}</h1>`);
  parts.push(`<p class="meta">${esc(r.started_at)} · ${r.config.partitions} partitions · backlog ${fmtInt(r.config.backlog_transactions)} transactions · ${r.config.rounds} round(s), medians · default client ${esc(client)} · ${esc(r.config.broker)} · traces: ${esc(r.config.trace_backend)} · ${r.config.machine.cores} cores, ${esc(String(r.config.machine.cpu))}, node ${esc(r.config.machine.node)}</p>`);

  // Both clients side by side, with the baselines.
  const rows = sideBySide(r);
  const eps = (m: string) => r.modes[m]?.median_eps ?? NaN;
  const us = (m: string) => r.modes[m]?.median_cpu_us_per_event ?? NaN;
  const series = CLIENTS.map((c) => ({ label: c, color: CLIENT_COLORS[c]! }));
  parts.push('<h2>Kafka clients side by side: maximum throughput draining the backlog (median), and CPU per event</h2><div class="row">');
  parts.push(
    barChart({
      title: 'events/s (bars), with CPU µs per event',
      width: 900,
      series,
      groups: [
        ...rows.map((row) => ({ label: row.label, values: row.modes.map(eps), notes: row.modes.map((m) => (Number.isFinite(eps(m)) ? `${fmtInt(eps(m))} ev/s · ${fmt(us(m), 1)} µs` : '')) })),
        // The kafkajs scorer under other node binaries (alo@node20, …).
        ...Object.entries(r.modes)
          .filter(([m, d]) => m.startsWith('alo@') && d.node && d.node !== r.config.machine.node)
          .map(([m, d]) => ({ label: `fraudscore at-least-once, node ${d.node}`, values: [eps(m), NaN], notes: [`${fmtInt(eps(m))} ev/s · ${fmt(us(m), 1)} µs`, 'kafkajs only'] })),
      ],
    }),
  );
  const latRows: string[][] = [];
  for (const d of ['alo', 'eos']) {
    const l = (c: string) => latencyOf(r, `${d}${sfx(c)}`);
    const p50 = (c: string) => l(c)?.phases.find((x) => x.loadPct === 50);
    latRows.push([`${d.toUpperCase()} sustainable ev/s`, ...CLIENTS.map((c) => fmtInt(l(c)?.sustainableEps ?? NaN))]);
    latRows.push([`${d.toUpperCase()} p99 ms @ 50 %`, ...CLIENTS.map((c) => fmt(p50(c)?.p99 ?? NaN))]);
    latRows.push([`${d.toUpperCase()} visible p99 ms @ 50 %`, ...CLIENTS.map((c) => fmt(p50(c)?.visibleP99 ?? NaN))]);
  }
  latRows.push(['scorer ÷ bare librdkafka (ALO / EOS)', ...CLIENTS.map((c) => `${pct(eps(`alo${sfx(c)}`) / eps('rdk-pipe'))} / ${pct(eps(`eos${sfx(c)}`) / eps('rdk-pipe'))}`)]);
  parts.push(`<div>${htmlTable(['', ...CLIENTS], latRows)}</div></div>`);

  // Summary table.
  const basis = r.latency.some((l) => l.basis && l.basis !== 'max') ? 'sustainable rate' : 'max';
  const tableRows = Object.entries(r.modes).map(([m, d]) => {
    const l = latencyOf(r, m);
    const at = (load: number) => {
      const p = l?.phases.find((x) => x.loadPct === load);
      return p ? `${fmt(p.p50)} / ${fmt(p.p99)} / ${fmt(p.p999)}` : '';
    };
    return [d.label, fmtInt(d.median_eps), d.runs.map((x) => (x.ok ? fmtInt(x.eps) : 'failed')).join(', '), fmt(num(d.ratio_to_rdk_pipe), 2), fmt(d.median_cpu_cores, 2), fmt(d.median_cpu_us_per_event, 1), fmt(d.median_broker_cpu_cores, 2), fmt(d.max_peak_rss_mb, 0), fmtInt(num(d.sustainable_eps)), at(25), at(50), at(75)];
  });
  parts.push(`<h2>Every mode: throughput, CPU, memory, sustainable live rate, latency (p50 / p99 / p99.9 ms at 25/50/75 % of the ${basis})</h2>`);
  parts.push(htmlTable(['configuration', 'max ev/s (median)', 'runs', '× bare rdk', 'cpu cores', 'µs cpu/ev', 'broker cores', 'peak RSS MB', 'sustainable ev/s', '@25 %', '@50 %', '@75 %'], tableRows));

  // Latency CDFs.
  parts.push(`<h2>End-to-end latency CDF (decision CreateTime − input CreateTime; dashed: visible to a read_committed consumer), at each mode's share of its ${basis}</h2><div class="row">`);
  for (const load of LOADS.map((l) => l * 100)) {
    const s: Series[] = [];
    for (const l of r.latency) {
      const p = l.phases.find((x) => x.loadPct === load);
      const cdf = r.latency_cdf[l.mode]?.[String(load)];
      if (!p || !cdf) continue;
      s.push({ label: `${l.mode} (${fmtInt(p.offeredEps)}/s)`, color: colorOf(l.mode), points: cdf.decision });
      s.push({ label: `${l.mode} visible`, color: colorOf(l.mode), points: cdf.visible, dashed: true });
    }
    parts.push(lineChart({ title: `${load} % of each mode's ${basis}`, width: 430, height: 340, series: s, xLabel: 'latency, ms (log)', yLabel: 'percentile', xLog: true, yNines: true, xTickText: (v) => String(v) }));
  }
  parts.push('</div>');

  // The searches: lag during each probe.
  const searched = r.latency.filter((l) => (l.probes ?? []).length > 0);
  if (searched.length) {
    parts.push('<h2>Sustainable-rate search: lag (inputs published − outputs visible) during each probe</h2><div class="row">');
    const palette = ['#4e79a7', '#e15759', '#59a14f', '#f28e2b', '#b07aa1', '#76b7b2', '#edc948', '#9c755f'];
    for (const l of searched) {
      const s: Series[] = l.probes.map((p, i) => ({ label: `${fmtInt(p.offeredEps)}/s ${p.sustainable ? '✓' : '✗'}`, color: palette[i % palette.length]!, points: p.lag, dashed: !p.sustainable }));
      parts.push(lineChart({ title: `${l.mode}: sustainable ${fmtInt(l.sustainableEps)} ev/s`, width: 430, height: 300, series: s, xLabel: 'seconds into the probe', yLabel: 'lag, events', yMin: 0, xMin: 0, yTickText: (v) => fmtInt(v) }));
    }
    parts.push('</div>');
    parts.push(
      htmlTable(
        ['mode', 'probe', 'offered ev/s', 'published ev/s', 'decided ev/s', 'lag max (last third)', 'lag slope ev/s', 'bound', 'cpu cores', 'recovery s', 'result'],
        searched.flatMap((l) =>
          l.probes.map((p, i) => [l.mode, String(i + 1), fmtInt(p.offeredEps), fmtInt(p.publishedEps), fmtInt(p.decidedEps), fmtInt(p.lagMaxLastThird), fmtInt(p.lagSlopeEps), fmtInt(p.boundEvents), fmt(p.cpuCores, 2), fmt(p.recoverySeconds, 1), `${p.sustainable ? 'sustainable' : 'not sustainable'}${p.publisherLimited ? ' (generator-limited)' : ''}: ${p.reason}`]),
        ),
      ),
    );
  }

  // Throughput over time.
  const tSeries: Series[] = [];
  for (const [m, t] of Object.entries(r.throughput_per_second)) {
    if (!t) continue;
    tSeries.push({ label: `${m} (${fmtInt(t.eps)}/s, ${t.round})`, color: colorOf(m), points: t.per_second.map((c, i) => [i + 0.5, c]) });
  }
  parts.push('<h2>Throughput over time while draining the backlog (outputs per second, by CreateTime; the median run of each)</h2>');
  parts.push(lineChart({ title: 'outputs per second', width: 1340, height: 360, series: tSeries, xLabel: 'seconds since the first output', yLabel: 'events/s', yMin: 0, xMin: 0, yTickText: (v) => fmtInt(v) }));
  parts.push('<h2>Targets</h2>');
  parts.push(
    `<table><thead><tr><th>target</th><th>value</th><th>goal</th><th></th></tr></thead><tbody>${Object.entries(r.targets)
      .map(([k, t]) => `<tr><td>${esc(k)}</td><td class="n">${esc(valueText(k, t.value))}</td><td>${esc(t.target)}</td><td class="${t.verdict === 'PASS' ? 'pass' : 'miss'}">${esc(t.verdict)}</td></tr>`)
      .join('')}</tbody></table>`,
  );
  // Raw runs.
  parts.push('<h2>Every drain run</h2>');
  parts.push(
    htmlTable(
      ['run', 'ev/s', 'seconds', 'outputs', 'DLQ', 'dup', 'cpu cores', 'µs/ev', 'broker', 'RSS MB', 'start s', 'ok'],
      drains.map((d) => [`${d.mode} ${d.round}`, fmtInt(d.eps), fmt(d.seconds), fmtInt(d.decisions), fmtInt(d.deadLetters), fmtInt(d.duplicates), fmt(d.cpuCores, 2), fmt(d.cpuUsPerEvent, 1), fmt(d.brokerCpuCores, 2), fmt(d.peakRssMb, 0), fmt(d.startupSeconds), d.ok ? 'yes' : (d.error ?? 'no')]),
    ),
  );
  // Profiles.
  for (const [m, p] of Object.entries(r.profiles)) {
    parts.push(`<h2>CPU profile: ${esc(m)} (${fmtInt(p.eps_under_profiler)} ev/s under the profiler)</h2>`);
    parts.push(`<pre>${esc(formatProfile(m, p, 20))}</pre>`);
  }
  return page('fraudscore benchmark', parts.join('\n'));
}

/** The HTML (and PNG) beside the JSON, and the table on stdout. */
export async function writeOutputs(result: Result, outFile: string): Promise<void> {
  const htmlFile = outFile.replace(/\.json$/, '') + '.html';
  writeFileSync(htmlFile, renderHtml(result));
  const pngFile = outFile.replace(/\.json$/, '') + '.png';
  let png = false;
  try {
    // Tall enough for the charts and tables above the per-run list.
    const height = 2200 + 20 * Object.keys(result.modes).length + 320 * Math.ceil(result.latency.filter((l) => (l.probes ?? []).length).length / 3);
    png = await renderPng(htmlFile, pngFile, { width: 1400, height, timeoutMs: 120_000 });
  } catch (err) {
    say(`bench: PNG not written: ${(err as Error).message}`);
  }
  say('');
  say(renderTable(result));
  say('');
  say(`bench: JSON ${outFile}`);
  say(`bench: plots ${htmlFile}${png ? ` and ${pngFile}` : ''}`);
}
