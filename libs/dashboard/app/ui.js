// Shared pieces: formatting, polling, the copy button, the Codex snippet and a small SVG bar chart.
import { h } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';

export const html = htm.bind(h);

/** How often pages re-read the API: new traffic shows within a few seconds, without a reload. */
export const POLL_MS = 2000;

/** Runs `load` now, whenever `deps` change, and every POLL_MS while the tab is visible. */
export function usePoll(load, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const seq = useRef(0);
  useEffect(() => {
    let stopped = false;
    const mine = ++seq.current;
    const run = async () => {
      try {
        const data = await load();
        if (!stopped && mine === seq.current) setState({ data, error: null, loading: false });
      } catch (error) {
        if (!stopped && mine === seq.current) setState((s) => ({ data: s.data, error, loading: false }));
      }
    };
    setState((s) => ({ ...s, loading: true }));
    run();
    const timer = setInterval(() => document.visibilityState === 'visible' && run(), POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, deps);
  return state;
}

const int = new Intl.NumberFormat('en-US');
export const fmtInt = (n) => (n === null || n === undefined ? '–' : int.format(n));
export function fmtUsd(n) {
  if (n === null || n === undefined) return '–';
  if (n !== 0 && Math.abs(n) < 0.01) return `$${n.toFixed(6)}`;
  return `$${n.toFixed(2)}`;
}
export function fmtTime(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  return `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 19)} UTC`;
}
export const fmtDate = (iso) => (iso ? new Date(iso).toISOString().slice(0, 10) : '–');
export const fmtMs = (ms) => (ms === null || ms === undefined ? '–' : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`);
export const fmtPct = (x) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : `${(x * 100).toFixed(1)}%`);

export function ErrorNote({ error }) {
  if (!error) return null;
  return html`<p class="error" role="alert">${error.message}</p>`;
}

export function CopyButton({ text, label = 'Copy' }) {
  const [done, setDone] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Without clipboard permission: a hidden textarea and the older copy command.
      const t = document.createElement('textarea');
      t.value = text;
      document.body.append(t);
      t.select();
      document.execCommand('copy');
      t.remove();
    }
    setDone(true);
    setTimeout(() => setDone(false), 2000);
  };
  return html`<button type="button" class="secondary" onClick=${copy}>${done ? 'Copied' : label}</button><span class="sr-only" aria-live="polite">${done ? 'Copied to the clipboard' : ''}</span>`;
}

export function codexConfig(ingressUrl, model) {
  return `# ~/.codex/config.toml
model = "${model}"
model_provider = "routerhub"

[model_providers.routerhub]
name = "RouterHub"
base_url = "${ingressUrl}/v1"
env_key = "ROUTERHUB_API_KEY"
wire_api = "responses"
# Codex's metadata for every RouterHub model (full toolset, apply_patch included):
model_catalog_url = "${ingressUrl}/v1/codex/models"
`;
}

/** The ready-to-paste Codex set-up: config.toml and the export line, each with a copy button. */
export function CodexSnippet({ ingressUrl, model, apiKey, id }) {
  const config = codexConfig(ingressUrl, model);
  const exportLine = `export ROUTERHUB_API_KEY=${apiKey ?? '<your RouterHub key, sk-rh-…>'}`;
  return html`<div class="snippet">
    <div class="snippet-head"><span id=${`${id}-cfg`}>~/.codex/config.toml</span><${CopyButton} text=${config} label="Copy config" /></div>
    <pre aria-labelledby=${`${id}-cfg`} data-testid="codex-config">${config}</pre>
    <div class="snippet-head"><span id=${`${id}-env`}>Shell</span><${CopyButton} text=${exportLine} label="Copy export line" /></div>
    <pre aria-labelledby=${`${id}-env`} data-testid="codex-export">${exportLine}</pre>
    <p class="hint">Then run <code>codex "What is 2 + 2?"</code>.</p>
  </div>`;
}

/**
 * Bars per day; `series` are stacked (name, colour, value of a row). A table with the same figures
 * follows for screen readers and for reading exact values.
 */
export function BarChart({ title, rows, series, format = fmtInt, id }) {
  const W = 640;
  const H = 180;
  const pad = { l: 56, r: 8, t: 10, b: 28 };
  const totals = rows.map((r) => series.reduce((s, x) => s + x.value(r), 0));
  const max = Math.max(1e-12, ...totals);
  const bw = (W - pad.l - pad.r) / Math.max(1, rows.length);
  const y = (v) => pad.t + (H - pad.t - pad.b) * (1 - v / max);
  const labelEvery = Math.ceil(rows.length / 10);
  return html`<figure class="chart" aria-labelledby=${`${id}-title`}>
    <figcaption id=${`${id}-title`}>${title}</figcaption>
    <svg viewBox=${`0 0 ${W} ${H}`} role="img" aria-label=${`${title}: ${rows.length} days, total ${format(totals.reduce((a, b) => a + b, 0))}`}>
      <line x1=${pad.l} x2=${W - pad.r} y1=${y(0)} y2=${y(0)} class="axis" />
      <line x1=${pad.l} x2=${W - pad.r} y1=${y(max)} y2=${y(max)} class="grid" />
      <text x=${pad.l - 6} y=${y(max) + 4} class="tick" text-anchor="end">${format(max)}</text>
      <text x=${pad.l - 6} y=${y(0) + 4} class="tick" text-anchor="end">0</text>
      ${rows.map((r, i) => {
        let base = 0;
        return html`<g>
          <title>${r.day}: ${series.map((s) => `${s.name} ${format(s.value(r))}`).join(', ')}</title>
          ${series.map((s) => {
            const v = s.value(r);
            const top = y(base + v);
            const rect = html`<rect x=${pad.l + i * bw + bw * 0.15} width=${Math.max(1, bw * 0.7)} y=${top} height=${Math.max(0, y(base) - top)} fill=${s.color} />`;
            base += v;
            return rect;
          })}
          ${i % labelEvery === 0 ? html`<text x=${pad.l + i * bw + bw / 2} y=${H - 8} class="tick" text-anchor="middle">${r.day.slice(5)}</text>` : null}
        </g>`;
      })}
    </svg>
    ${series.length > 1 ? html`<ul class="legend">${series.map((s) => html`<li><span class="swatch" style=${`background:${s.color}`}></span>${s.name}</li>`)}</ul>` : null}
  </figure>`;
}
