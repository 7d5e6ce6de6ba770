// Shared page helpers: CSRF header for fetch() and the JSON API error shape.
(function () {
  "use strict";
  const meta = document.querySelector('meta[name="csrf-token"]');
  window.skillcert = {
    csrfToken: meta ? meta.content : "",
    async api(path, options = {}) {
      const headers = Object.assign({ "Accept": "application/json" }, options.headers || {});
      if (options.body !== undefined && typeof options.body !== "string") {
        headers["Content-Type"] = "application/json";
        options.body = JSON.stringify(options.body);
      }
      if (options.method && options.method !== "GET") headers["X-CSRFToken"] = this.csrfToken;
      const res = await fetch("/api/v1" + path, Object.assign({}, options, { headers, credentials: "same-origin" }));
      const data = await res.json().catch(() => ({}));
      if (!res.ok) {
        const err = new Error((data.error && data.error.message) || res.statusText);
        err.code = data.error && data.error.code; err.field = data.error && data.error.field; err.status = res.status;
        throw err;
      }
      return data;
    },
  };
})();
