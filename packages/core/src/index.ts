/**
 * @tabswarm/core: the rules the coordinator and the tabs apply identically. Pure TypeScript with no
 * DOM, Node or bundler dependency: it runs in the tab, the worker, Node and tests.
 */
export {};
