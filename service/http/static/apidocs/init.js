/* loibinh's API reference: Swagger UI (vendored beside this file, with its
   licence) rendering the service's own /openapi.json. Nothing is fetched
   from elsewhere: no validator badge, no CDN. */
window.addEventListener("load", function () {
  "use strict";
  window.ui = window.SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#reference",
    deepLinking: true,
    validatorUrl: null,
    defaultModelsExpandDepth: 0,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
});
