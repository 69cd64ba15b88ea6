// The gate app's service worker keeps the app's shell so that the page
// opens at a door with no network. It goes to the network first, so a new
// version of the page or its scripts is used as soon as the server
// answers, and falls back on the copy kept the last time it did. The
// bundle and the uploads are the page's business: they pass untouched.
const CACHE = "yunqi-gate-v1";
const SCOPE = new URL("./", self.location).pathname;
const SHELL = [
  SCOPE,
  SCOPE + "manifest.webmanifest",
  "/static/style.css",
  "/static/app.js",
  "/static/gate/gate.js",
  "/static/vendor/jsqr/jsQR-1.4.0.js",
  "/static/gate/icon-192.png",
  "/static/gate/icon-512.png",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("yunqi-gate-") && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

function kept(url) {
  return url.origin === self.location.origin && SHELL.includes(url.pathname);
}

self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || !kept(url)) return;
  event.respondWith(
    fetch(req)
      .then((res) => {
        // A redirect to the log-in page is not the app: keep the last copy.
        if (res.ok && !res.redirected) {
          const copy = res.clone();
          caches.open(CACHE).then((c) => c.put(url.pathname, copy));
        }
        return res;
      })
      .catch(() => caches.match(url.pathname).then((hit) => hit || Response.error())),
  );
});
