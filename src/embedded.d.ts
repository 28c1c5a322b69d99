// Files embedded into the binary with `with { type: "file" }` resolve to a path string.
declare module "swagger-ui-dist/swagger-ui-bundle.js" {
  const path: string;
  export default path;
}
declare module "swagger-ui-dist/swagger-ui.css" {
  const path: string;
  export default path;
}
declare module "*.css" {
  const text: string;
  export default text;
}
