"""The panel's look: a small stylesheet scoped under ``.sw-panel``.

Only JupyterLab's CSS variables are used for colours, so the panel follows the
light and dark themes (and any third-party theme); each variable has a fallback
for front ends that do not define it (VS Code, Voila's plain template).
"""

from __future__ import annotations

__all__ = ["CSS"]

CSS = """
<style>
.sw-panel {
  font-family: var(--jp-ui-font-family, system-ui, sans-serif);
  color: var(--jp-ui-font-color1, inherit);
  background: var(--jp-layout-color1, transparent);
  border: 1px solid var(--jp-border-color2, rgba(128,128,128,.3));
  border-radius: 8px;
  padding: 10px 12px;
  max-width: 980px;
  gap: 6px;
}
.sw-panel .sw-header { display: flex; align-items: center; gap: 10px; }
.sw-panel .sw-title { font-size: var(--jp-content-font-size3, 16px); font-weight: 600; }
.sw-panel .sw-badge {
  display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: var(--jp-ui-font-size0, 11px);
  border: 1px solid var(--jp-border-color1, rgba(128,128,128,.5));
  background: var(--jp-layout-color2, transparent); color: var(--jp-ui-font-color1, inherit);
}
.sw-panel .sw-badge.sw-badge-live {
  border-color: var(--jp-brand-color1, #1976d2); color: var(--jp-brand-color1, #1976d2);
}
.sw-panel .sw-badge.sw-badge-offline {
  border-color: var(--jp-success-color1, #388e3c); color: var(--jp-success-color1, #388e3c);
}
.sw-panel .sw-hint, .sw-panel .sw-counter, .sw-panel .sw-muted {
  color: var(--jp-ui-font-color2, #666); font-size: var(--jp-ui-font-size1, 12px);
}
.sw-panel .sw-counter.sw-over { color: var(--jp-error-color1, #d32f2f); font-weight: 600; }
.sw-panel .sw-box {
  border: 1px solid var(--jp-border-color2, rgba(128,128,128,.3)); border-radius: 6px;
  padding: 6px 8px; background: var(--jp-layout-color2, transparent);
}
.sw-panel .sw-box-title { font-weight: 600; color: var(--jp-ui-font-color1, inherit); }
.sw-panel .sw-cost { font-variant-numeric: tabular-nums; }
.sw-panel .sw-cost .sw-total { font-weight: 600; font-size: var(--jp-content-font-size2, 14px); }
.sw-panel .sw-cost ul { margin: 2px 0 0 0; padding-left: 18px; color: var(--jp-ui-font-color2, #666); }
.sw-panel .sw-status { color: var(--jp-ui-font-color2, #666); }
.sw-panel .sw-status.sw-warn { color: var(--jp-warn-color1, #f57c00); }
.sw-panel .sw-history-unknown { border-left: 3px solid var(--jp-warn-color1, #f57c00); padding-left: 4px; }
.sw-panel .sw-history-unknown .sw-warn { color: var(--jp-warn-color1, #f57c00); }
.sw-panel .sw-card {
  border: 1px solid var(--jp-border-color2, rgba(128,128,128,.3));
  border-left: 4px solid var(--jp-brand-color1, #1976d2);
  border-radius: 6px; padding: 6px 8px; background: var(--jp-layout-color1, transparent);
}
.sw-panel .sw-card.sw-card-done { border-left-color: var(--jp-success-color1, #388e3c); }
.sw-panel .sw-card.sw-card-failed { border-left-color: var(--jp-error-color1, #d32f2f); }
.sw-panel .sw-card.sw-card-cancelled { border-left-color: var(--jp-border-color1, #999); }
.sw-panel .sw-card-error { color: var(--jp-error-color1, #d32f2f); }
.sw-panel .sw-log { font-family: var(--jp-code-font-family, monospace); font-size: var(--jp-code-font-size, 12px);
  color: var(--jp-ui-font-color2, #666); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.sw-panel video { max-width: 100%; border-radius: 4px; background: #000; }
.sw-panel .sw-table { border-collapse: collapse; font-size: var(--jp-ui-font-size1, 12px); }
.sw-panel .sw-table th, .sw-panel .sw-table td {
  border-bottom: 1px solid var(--jp-border-color2, rgba(128,128,128,.3)); padding: 2px 8px; text-align: left;
}
.sw-panel .sw-table td.sw-num { text-align: right; font-variant-numeric: tabular-nums; }
.sw-panel .sw-remix-empty { color: var(--jp-ui-font-color2, #666); font-style: italic; }
/* The remix picker: one row per video, scrolling past a few rows; the chosen row is marked. */
.sw-panel .sw-remix-picker { max-height: 420px; overflow-y: auto; gap: 4px; }
.sw-panel .sw-remix-option {
  gap: 8px; padding: 4px 6px; border-radius: 4px; flex-shrink: 0;
  border: 1px solid var(--jp-border-color2, rgba(128,128,128,.3)); border-left-width: 4px;
}
.sw-panel .sw-remix-option.sw-remix-option-selected {
  border-color: var(--jp-brand-color1, #1976d2); background: var(--jp-layout-color3, rgba(128,128,128,.15));
}
.sw-panel .sw-remix-option-thumb { flex: 0 0 96px; }
.sw-panel .sw-remix-option-text, .sw-panel .sw-remix-option-text > * { line-height: 1.4; overflow-wrap: anywhere; }
.sw-panel .sw-remix-option-choose { flex: 0 0 auto; }
.sw-panel .sw-generate.mod-primary, .sw-panel .sw-generate.mod-warning { font-weight: 600; }
/* Full-width inputs with a description label: the widget takes the row (width:auto, stretched by
   the column) and its input shrinks beside the label. ``width:100%`` plus the label and the
   widget margins overflowed, and ipywidgets' textarea inherits its parent's width. */
.sw-panel .sw-models, .sw-panel .sw-prompt, .sw-panel .sw-remix-picker {
  width: auto; max-width: 100%; min-width: 0; box-sizing: border-box;
}
.sw-panel .sw-models select, .sw-panel .sw-prompt textarea {
  width: auto; flex: 1 1 auto; min-width: 0;
}
/* The selected row of a list: the browser default (light grey, dark text) glares in dark themes.
   The gradient makes Chromium keep the colour when the list is not focused. */
.sw-panel select option:checked {
  background: var(--jp-layout-color3, #bdbdbd)
    linear-gradient(var(--jp-layout-color3, #bdbdbd), var(--jp-layout-color3, #bdbdbd));
  color: var(--jp-ui-font-color0, inherit);
}
/* Rows of fixed-width controls wrap on narrow screens instead of running past the edge. */
.sw-panel .sw-row { flex-wrap: wrap; }
/* ipywidgets gives HTML content the 28px control height as line height: double spacing when it wraps. */
.sw-panel .sw-hint, .sw-panel .sw-hint > * { line-height: 1.4; }
.sw-panel .sw-hinted { align-items: center; flex-wrap: wrap; column-gap: 8px; flex: 1 1 100%; }
.sw-panel .sw-hinted .sw-setting { width: auto; }
.sw-panel .sw-hinted .sw-hint { flex: 1 1 240px; min-width: 0; }
/* Job card header: name, status pill, Cancel; the progress bar has its own line. */
.sw-panel .sw-card-header { align-items: center; gap: 8px; }
.sw-panel .sw-card-name { font-weight: 600; width: auto; }
.sw-panel .sw-card-status { width: auto; align-self: center; }
.sw-panel .sw-card-status > * {
  flex-grow: 0; align-self: center; padding: 0 8px; border-radius: 10px; line-height: 18px;
  font-size: var(--jp-ui-font-size1, 12px); border: 1px solid var(--jp-brand-color1, #1976d2);
  color: var(--jp-brand-color1, #1976d2); white-space: nowrap;
}
.sw-panel .sw-card-status.sw-pill-done > * {
  border-color: var(--jp-success-color1, #388e3c); color: var(--jp-success-color1, #388e3c);
}
.sw-panel .sw-card-status.sw-pill-failed > * {
  border-color: var(--jp-error-color1, #d32f2f); color: var(--jp-error-color1, #d32f2f);
}
.sw-panel .sw-card-status.sw-pill-cancelled > * {
  border-color: var(--jp-border-color1, #999); color: var(--jp-ui-font-color2, #666);
}
.sw-panel .sw-progress { width: auto; max-width: 100%; }
/* Secondary actions (Use URL, Load file, Choose, History's Play/Remix/File) look like buttons in
   every theme: ipywidgets' plain button is a flat grey box that read as text in dark themes. */
.sw-panel .sw-action, .sw-panel .sw-dismiss {
  border: 1px solid var(--jp-brand-color1, #1976d2); border-radius: 4px;
  color: var(--jp-brand-color1, #1976d2); background: var(--jp-layout-color1, transparent);
  font-weight: 500;
}
.sw-panel .sw-action:hover, .sw-panel .sw-dismiss:hover {
  background: var(--jp-layout-color3, rgba(128,128,128,.15));
}
.sw-panel .sw-action.mod-active {
  background: var(--jp-brand-color1, #1976d2); color: var(--jp-ui-inverse-font-color0, #fff);
}
/* The model picker: one checkbox per model, label in full. */
.sw-panel .sw-models { gap: 0; padding-left: 4px; }
.sw-panel .sw-models .sw-model-option, .sw-panel .sw-models .sw-model-option label { width: auto; max-width: 100%; }
.sw-panel .sw-question { gap: 8px; padding: 4px 8px; border-radius: 6px;
  border: 1px solid var(--jp-warn-color1, #f57c00); }
.sw-panel .sw-history-row { border-bottom: 1px solid var(--jp-border-color2, rgba(128,128,128,.3)); padding: 2px 0; }
.sw-panel .sw-history-row > .widget-hbox { gap: 8px; }
.sw-panel .sw-history-text, .sw-panel .sw-history-text > * { line-height: 1.4; overflow-wrap: anywhere; }
.sw-panel .sw-history-actions { flex: 0 0 auto; gap: 4px; }
.sw-panel .sw-history-detail { padding-left: 36px; }
.sw-panel .sw-path { word-break: break-all; }
.sw-panel .sw-remix-preview { gap: 8px; }
.sw-panel .sw-result-facts, .sw-panel .sw-result-facts > * { line-height: 1.5; }
.sw-panel .sw-result-facts code { word-break: break-all; }
</style>
"""
