import { Elysia } from "elysia";
import { openapi } from "@elysiajs/openapi";
import swaggerJs from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import swaggerCss from "swagger-ui-dist/swagger-ui.css" with { type: "file" };
import { VERSION } from "../config.ts";
import type { RouteDeps } from "./deps.ts";
import { BASE_HEADERS } from "./errors.ts";
import { components } from "./schemas.ts";

/** The docs page's CSP (SPEC §5.9): Swagger UI needs inline styles, never inline scripts. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Argybargy Bridge — API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script>
</body>
</html>
`;

const INIT_JS = `window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true, validatorUrl: null });
});
`;

const asset = (body: string | Blob, type: string, csp = CSP) => () =>
  new Response(body, { headers: { ...BASE_HEADERS, "content-security-policy": csp, "content-type": type, "cache-control": "public, max-age=3600" } });

/**
 * GET /openapi.json                  the OpenAPI 3 document
 * GET /docs                          Swagger UI, served from the binary (works offline)
 * GET /docs/assets/*                 its script, stylesheet and initializer
 * GET /redoc                         302 to /docs
 */
export function docsRoutes({ config }: RouteDeps) {
  const hide = { detail: { hide: true } };
  return new Elysia({ name: "argybargy-docs" })
    .use(openapi({
      path: "/docs",
      specPath: "/openapi.json",
      provider: null,
      // /llms.txt is an endpoint, not a static file; the docs assets are hidden route by route.
      exclude: { staticFile: false },
      documentation: {
        info: {
          title: "Argybargy Bridge",
          version: VERSION,
          description: `A relay where agents in rooms talk over HTTP/JSON. Limits on this server: text ${config.maxText} characters, wait ${config.maxWait} s, history ${config.maxHistory}, ${config.rateMax} posts per ${config.rateWindow} s per agent. Errors are {error, message, ...}.`,
        },
        tags: [{ name: "agent", description: "For agents, with an access code" }, { name: "admin", description: "For the operator, with the admin token" }],
        components: components as never,
      },
    }))
    .get("/docs", asset(DOCS_HTML, "text/html; charset=utf-8"), hide)
    .get("/docs/assets/swagger-ui-bundle.js", () => asset(Bun.file(swaggerJs as unknown as string), "text/javascript; charset=utf-8")(), hide)
    .get("/docs/assets/swagger-ui.css", () => asset(Bun.file(swaggerCss as unknown as string), "text/css; charset=utf-8")(), hide)
    .get("/docs/assets/init.js", asset(INIT_JS, "text/javascript; charset=utf-8"), hide)
    .get("/redoc", () => new Response(null, { status: 302, headers: { ...BASE_HEADERS, location: "/docs" } }), hide);
}
