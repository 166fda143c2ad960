import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { escapeXml } from '../diagram.ts';

/**
 * The shell of shoal's HTML reports: one self-contained file that works offline. The
 * charting library (uPlot, MIT) is read from node_modules when the report is written and
 * inlined, never loaded from the network.
 */

const require = createRequire(import.meta.url);
let chartLibrary: { script: string; style: string } | undefined;

/** uPlot's minified browser build and stylesheet (about 53 kB), read once. */
function uplot(): { script: string; style: string } {
  chartLibrary ??= {
    script: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    style: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  };
  return chartLibrary;
}

const style = `
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; max-width: 1400px; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0; } td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } code, pre { font-family: ui-monospace, monospace; font-size: 0.9em; }
pre { background: #f7f7f7; padding: 0.6em; overflow-x: auto; } .pass { color: #1b7f3b; font-weight: bold; } .fail { color: #c62828; font-weight: bold; }
.scroll { overflow: auto; max-height: 900px; border: 1px solid #eee; } .note { color: #666; font-size: 0.9em; }
.figure { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
`;

/** Escapes text for HTML. */
export const html = escapeXml;

/** JSON that is safe inside a `<script>` element. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/** A whole page; `charts` inlines the chart library ahead of `script`. */
export function htmlPage(title: string, body: string, options: { charts?: boolean; script?: string } = {}): string {
  const lib = options.charts ? uplot() : undefined;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${html(title)}</title>
<style>${style}${lib?.style ?? ''}</style></head><body>
${body}
${lib ? `<script>${lib.script}</script>` : ''}${options.script ? `<script>${options.script}</script>` : ''}
</body></html>
`;
}

/** A pass/fail word, coloured. */
export function verdict(ok: boolean): string {
  return ok ? '<span class="pass">PASS</span>' : '<span class="fail">FAIL</span>';
}
