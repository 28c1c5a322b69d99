import { Elysia } from "elysia";
import html from "../dashboard/index.html" with { type: "text" };
import js from "../dashboard/app.js" with { type: "text" };
import css from "../dashboard/app.css" with { type: "text" };
import { BASE_HEADERS } from "./errors.ts";

/** The dashboard's CSP (SPEC §9.3): same-origin script and style only, no inline code. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const page = (body: string, type: string) => () =>
  new Response(body, { headers: { ...BASE_HEADERS, "content-security-policy": CSP, "content-type": type, "cache-control": "no-cache" } });

/**
 * GET /dashboard                  the operator's page
 * GET /dashboard/assets/app.js    its script
 * GET /dashboard/assets/app.css   its stylesheet
 */
export function dashboardRoutes() {
  const hide = { detail: { hide: true } };
  return new Elysia({ name: "argybargy-dashboard" })
    .get("/dashboard", page(html as unknown as string, "text/html; charset=utf-8"), hide)
    .get("/dashboard/assets/app.js", page(js as unknown as string, "text/javascript; charset=utf-8"), hide)
    .get("/dashboard/assets/app.css", page(css as unknown as string, "text/css; charset=utf-8"), hide);
}
