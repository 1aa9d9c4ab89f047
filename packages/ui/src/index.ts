/** @tabswarm/ui: what both pages share — the theme, small hooks and store helpers. Runs on the page. */
export {};
