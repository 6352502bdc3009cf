// Starts the bundled Swagger UI on the element that names the document (no inline script).
"use strict";
window.addEventListener("DOMContentLoaded", function () {
  var target = document.getElementById("api-docs");
  window.SwaggerUIBundle({
    url: target.dataset.document,
    domNode: target,
    deepLinking: true,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    tryItOutEnabled: false,
    validatorUrl: "none",
  });
});
