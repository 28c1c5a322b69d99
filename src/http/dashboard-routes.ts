import { Elysia } from "elysia";
import html from "../dashboard/index.html" with { type: "text" };
import css from "../dashboard/app.css" with { type: "text" };
import * as app from "../dashboard/app.js" with { type: "text" };
import * as composer from "../dashboard/composer.js" with { type: "text" };
import * as dom from "../dashboard/dom.js" with { type: "text" };
import * as drawer from "../dashboard/drawer.js" with { type: "text" };
import * as header from "../dashboard/header.js" with { type: "text" };
import * as leases from "../dashboard/leases.js" with { type: "text" };
import * as live from "../dashboard/live.js" with { type: "text" };
import * as model from "../dashboard/model.js" with { type: "text" };
import * as paused from "../dashboard/paused.js" with { type: "text" };
import * as receipts from "../dashboard/receipts.js" with { type: "text" };
import * as sidebar from "../dashboard/sidebar.js" with { type: "text" };
import * as state from "../dashboard/state.js" with { type: "text" };
import * as threads from "../dashboard/threads.js" with { type: "text" };
import * as timeline from "../dashboard/timeline.js" with { type: "text" };
import * as util from "../dashboard/util.js" with { type: "text" };
import { BASE_HEADERS } from "./errors.ts";

/** The dashboard's CSP (SPEC §9.3): same-origin script and style only, no inline code. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * The dashboard's ES modules by file name; app.js is the entry the page loads, the rest it
 * imports. A text import of a .js file is typed as the module itself, hence the namespace
 * import and its `default` (the file's text at run time).
 */
const MODULES = Object.fromEntries(Object.entries({ app, composer, dom, drawer, header, leases, live, model, paused, receipts, sidebar, state, threads, timeline, util })
  .map(([name, ns]) => [name, (ns as unknown as { default: string }).default]));

const page = (body: string, type: string) => () =>
  new Response(body, { headers: { ...BASE_HEADERS, "content-security-policy": CSP, "content-type": type, "cache-control": "no-cache" } });

/**
 * GET /dashboard                   the operator's page
 * GET /dashboard/assets/<name>.js  its script modules (app.js is the entry)
 * GET /dashboard/assets/app.css    its stylesheet
 */
export function dashboardRoutes() {
  const hide = { detail: { hide: true } };
  const routes = new Elysia({ name: "argybargy-dashboard" })
    .get("/dashboard", page(html as unknown as string, "text/html; charset=utf-8"), hide)
    .get("/dashboard/assets/app.css", page(css as unknown as string, "text/css; charset=utf-8"), hide);
  for (const [name, source] of Object.entries(MODULES)) {
    routes.get(`/dashboard/assets/${name}.js`, page(source, "text/javascript; charset=utf-8"), hide);
  }
  return routes;
}
