// The gate app. The door cannot wait for the venue's network, so this
// page decides on its own: it keeps the edition's bundle (ticket keys,
// cancelled registrations, revoked devices) and every scan in
// localStorage, checks each ticket's Ed25519 signature with WebCrypto, and
// uploads the queue whenever the server answers. The server decides every
// uploaded scan again; its answer is shown beside the device's own.
(function () {
  "use strict";
  const app = document.getElementById("gate-app");
  if (!app) return;
  const $ = (id) => document.getElementById(id);
  const msgs = JSON.parse($("gate-messages").textContent);
  const lang = document.documentElement.lang || "en";
  const zone = app.dataset.zone;
  const chunk = Number(app.dataset.chunk) || 20;
  const prefix = "yunqi.gate.";

  function t(key, args) {
    let m = msgs[key] || key;
    for (const [k, v] of Object.entries(args || {})) m = m.split("{" + k + "}").join(String(v));
    return m;
  }
  const timeFormat = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "medium", timeZone: zone });
  const fmtTime = (iso) => timeFormat.format(new Date(iso));
  const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

  const store = {
    get(k, fallback) {
      try {
        const v = localStorage.getItem(prefix + k);
        return v === null ? fallback : JSON.parse(v);
      } catch (e) {
        return fallback;
      }
    },
    set(k, v) { localStorage.setItem(prefix + k, JSON.stringify(v)); },
    keys(p) {
      const out = [];
      for (let i = 0; i < localStorage.length; i++) {
        const k = localStorage.key(i);
        if (k && k.startsWith(prefix + p)) out.push(k.slice(prefix.length));
      }
      return out;
    },
  };

  // The device's id is what the organisers see it by, and what a revoked
  // device is refused by: it is made once and kept.
  let device = store.get("device", "");
  if (!device) {
    const b = new Uint8Array(6);
    crypto.getRandomValues(b);
    device = "dev-" + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    store.set("device", device);
  }
  $("gate-device").textContent = device;
  app.dataset.device = device;

  // The frame's head belongs to the shared layout; the manifest is the
  // app's alone, so it is linked from here.
  const manifest = document.createElement("link");
  manifest.rel = "manifest";
  manifest.href = app.dataset.manifest;
  document.head.appendChild(manifest);

  async function registerWorker() {
    const ready = $("gate-offline-ready");
    if (!("serviceWorker" in navigator) || !window.caches) {
      ready.textContent = t("offline_not_ready");
      return;
    }
    try {
      await navigator.serviceWorker.register(app.dataset.worker, { scope: app.dataset.scope, updateViaCache: "none" });
      await navigator.serviceWorker.ready;
      for (let i = 0; i < 150; i++) {
        if ((await caches.match(app.dataset.scope)) && (await caches.match("/static/gate/gate.js"))) {
          ready.textContent = t("offline_ready");
          app.dataset.offlineReady = "true";
          return;
        }
        await sleep(200);
      }
    } catch (e) {
      // An insecure origin has no service workers; say so below.
    }
    ready.textContent = t("offline_not_ready");
  }
  registerWorker();

  const setup = $("gate-setup");
  const scan = $("gate-scan");
  if (!setup) {
    $("gate-network").textContent = "";
    return;
  }
  let config = store.get("config", null);
  let online = null;

  const scansKey = (edition) => "scans." + edition;
  const bundleKey = () => "bundle." + config.edition;

  function show(kind, text) {
    const r = $("gate-result");
    r.className = "gate-result gate-result-" + kind;
    r.dataset.kind = kind;
    r.textContent = text;
  }

  function gateNameOK(v) {
    const n = new TextEncoder().encode(v).length;
    return v === v.trim() && n >= 1 && n <= 64;
  }

  function start() {
    setup.hidden = true;
    scan.hidden = false;
    const ed = setup.querySelector('option[value="' + CSS.escape(config.edition) + '"]');
    $("gate-scan-heading").textContent = t("scan_heading", { gate: config.gate, edition: ed ? ed.textContent : config.edition });
    showNetwork();
    renderLog();
    refreshBundle().then(upload);
  }

  if (config) {
    $("gate-edition").value = config.edition;
    $("gate-name").value = config.gate;
  }
  setup.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const gate = $("gate-name").value;
    const err = $("gate-name-error");
    if (!gateNameOK(gate)) {
      err.textContent = t("gate_name_invalid");
      err.hidden = false;
      $("gate-name").setAttribute("aria-invalid", "true");
      $("gate-name").focus();
      return;
    }
    err.hidden = true;
    $("gate-name").removeAttribute("aria-invalid");
    config = { edition: $("gate-edition").value, gate: gate };
    store.set("config", config);
    start();
    $("gate-scan-heading").focus();
  });
  $("gate-change").addEventListener("click", () => {
    stopCamera();
    scan.hidden = true;
    setup.hidden = false;
    $("gate-name").focus();
  });

  // A stranger is sent to the log-in page: fetch follows the redirect, so
  // a page instead of JSON means the session has ended.
  function sessionEnded(res) {
    return res.redirected || !(res.headers.get("Content-Type") || "").includes("json");
  }

  async function refreshBundle() {
    if (!config) return;
    try {
      const res = await fetch(app.dataset.bundle.replace("{edition}", encodeURIComponent(config.edition)),
        { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } });
      if (sessionEnded(res)) {
        online = true;
        show("warn", t("session_ended"));
      } else if (res.ok) {
        store.set(bundleKey(), await res.json());
        online = true;
      }
    } catch (e) {
      online = false;
    }
    showNetwork();
  }

  function showNetwork() {
    if (!config) return;
    const bundle = store.get(bundleKey(), null);
    const net = $("gate-network");
    const status = $("gate-bundle-status");
    if (!bundle) {
      net.textContent = online === false ? t("upload_failed") : t("checking");
      status.textContent = t("no_bundle");
      return;
    }
    net.textContent = t(online === false ? "offline" : "online", { time: fmtTime(bundle.at) });
    app.dataset.online = String(online !== false);
    status.textContent = (bundle.revoked_devices || []).includes(device) ? t("device_revoked") : "";
  }

  const b64url = (s) => {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  };
  const keys = new Map();

  async function publicKey(jwk) {
    const id = jwk.kid + "." + jwk.x;
    if (!keys.has(id)) {
      keys.set(id, await crypto.subtle.importKey("jwk", { kty: "OKP", crv: "Ed25519", x: jwk.x }, { name: "Ed25519" }, false, ["verify"]));
    }
    return keys.get(id);
  }

  // verify judges a ticket as the server would, with what the bundle
  // knew when it was last refreshed.
  async function verify(token, bundle) {
    const parts = token.split(".");
    if (parts.length !== 3) return { kind: "not_a_ticket" };
    let header, claims;
    try {
      const dec = new TextDecoder();
      header = JSON.parse(dec.decode(b64url(parts[0])));
      claims = JSON.parse(dec.decode(b64url(parts[1])));
    } catch (e) {
      return { kind: "not_a_ticket" };
    }
    if (header.alg !== "EdDSA" || header.typ !== "ticket+jwt" || claims.iss !== "yunqi-conference" || typeof claims.sub !== "string") {
      return { kind: "not_a_ticket" };
    }
    const jwk = ((bundle.keys && bundle.keys.keys) || []).find((k) => k.kid === header.kid && k.crv === "Ed25519");
    if (!jwk) return { kind: "unknown_key" };
    let key;
    try {
      key = await publicKey(jwk);
    } catch (e) {
      return { kind: "no_crypto" };
    }
    let ok = false;
    try {
      ok = await crypto.subtle.verify({ name: "Ed25519" }, key, b64url(parts[2]), new TextEncoder().encode(parts[0] + "." + parts[1]));
    } catch (e) {
      ok = false;
    }
    if (!ok) return { kind: "signature" };
    if (typeof claims.exp === "number" && claims.exp * 1000 <= Date.now()) {
      return { kind: "expired", expired: new Date(claims.exp * 1000).toISOString() };
    }
    if (claims.edition !== bundle.edition) return { kind: "wrong_edition", edition: claims.edition };
    if ((bundle.revoked || []).includes(claims.sub)) return { kind: "revoked", reg: claims.sub };
    return { kind: "ok", reg: claims.sub };
  }

  async function handleCode(raw) {
    const token = raw.replace(/\s+/g, "");
    if (!token || !config) return;
    const bundle = store.get(bundleKey(), null);
    if (!bundle) {
      show("bad", t("no_bundle"));
      return;
    }
    if (!window.crypto || !crypto.subtle) {
      show("bad", t("no_crypto"));
      return;
    }
    show("busy", t("checking"));
    const v = await verify(token, bundle);
    const at = new Date().toISOString();
    const scans = store.get(scansKey(config.edition), []);
    const entry = { token: "", reg: v.reg || "", at: at, gate: config.gate, device: device, local: v.kind, admitted: false };
    if (v.expired) entry.expired = v.expired;
    if (v.edition) entry.edition = v.edition;
    let kind = "bad";
    if (v.kind === "ok") {
      const first = scans.find((s) => s.admitted && s.reg === v.reg);
      if (first) {
        entry.local = "repeat_local";
        entry.first = { gate: first.gate, device: first.device, at: first.at };
        kind = "warn";
      } else {
        // Only an admission is uploaded: the token goes with it so the
        // server can check the ticket itself.
        Object.assign(entry, { local: "checked_in", token: token, admitted: true, uploaded: false });
        kind = "ok";
      }
    }
    const text = localText(entry);
    scans.push(entry);
    store.set(scansKey(config.edition), scans);
    show(kind, text);
    renderLog();
    upload();
  }

  // localText says what the device decided, in the page's language of
  // the moment: the log keeps facts, not sentences.
  function localText(s) {
    switch (s.local) {
      case "checked_in":
        return t("checked_in", { registration: s.reg, time: fmtTime(s.at) });
      case "repeat_local":
        return t("repeat_local", { gate: s.first.gate, device: s.first.device, time: fmtTime(s.first.at) });
      case "expired":
        return t("expired", { time: fmtTime(s.expired) });
      case "wrong_edition":
        return t("wrong_edition", { edition: s.edition });
    }
    return t(s.local);
  }

  function serverText(s) {
    const r = s.server;
    if (!r) return s.admitted ? t("pending") : t("local_only");
    if (r.status === "checked_in") return t("server_checked_in");
    if (r.status === "duplicate" && r.first) {
      return t("server_duplicate", { gate: r.first.gate, device: r.first.device, time: fmtTime(r.first.at) });
    }
    const reason = msgs["reason." + r.reason] ? t("reason." + r.reason) : t("reason.other");
    return t("server_refused", { reason: reason });
  }

  function renderLog() {
    if (!config) return;
    const list = $("gate-log");
    const scans = store.get(scansKey(config.edition), []);
    list.replaceChildren();
    for (let i = scans.length - 1; i >= 0 && i >= scans.length - 200; i--) {
      const s = scans[i];
      const li = document.createElement("li");
      li.className = "gate-log-entry gate-log-" + (s.server ? s.server.status : s.admitted ? "pending" : "local");
      li.dataset.registration = s.reg;
      li.dataset.server = s.server ? s.server.status : "";
      const when = document.createElement("time");
      when.dateTime = s.at;
      when.textContent = fmtTime(s.at);
      const local = document.createElement("span");
      local.className = "gate-log-local";
      local.textContent = localText(s);
      const server = document.createElement("span");
      server.className = "gate-log-server";
      server.textContent = serverText(s);
      li.append(when, " ", local, " ", server);
      list.append(li);
    }
    renderQueue();
  }

  function pending() {
    const out = [];
    for (const k of store.keys("scans.")) {
      for (const s of store.get(k, [])) if (s.admitted && !s.uploaded) out.push(s);
    }
    return out;
  }

  function renderQueue() {
    const n = pending().length;
    $("gate-queue").textContent = n ? t("queue", { count: n }) : t("queue_empty");
    app.dataset.queued = String(n);
  }

  let uploading = false;

  // upload sends each edition's queue in chunks, one gate per chunk. A
  // chunk whose answer is lost is sent again as it was: the server knows a
  // scan by device, ticket and scan time and answers it as the first time.
  async function upload() {
    if (uploading) return;
    uploading = true;
    try {
      for (const k of store.keys("scans.")) {
        for (;;) {
          const scans = store.get(k, []);
          const todo = scans.filter((s) => s.admitted && !s.uploaded);
          if (!todo.length) break;
          const gate = todo[0].gate;
          const batch = todo.filter((s) => s.gate === gate).slice(0, chunk);
          let res;
          try {
            res = await fetch(app.dataset.upload, {
              method: "POST", credentials: "same-origin", cache: "no-store",
              headers: { "Content-Type": "application/json", Accept: "application/json" },
              body: JSON.stringify({ gate: gate, device: device, scans: batch.map((s) => ({ token: s.token, scanned_at: s.at })) }),
            });
          } catch (e) {
            online = false;
            showNetwork();
            $("gate-queue").textContent = t("upload_failed");
            return;
          }
          online = true;
          if (sessionEnded(res)) {
            show("warn", t("session_ended"));
            return;
          }
          const body = await res.json().catch(() => ({}));
          if (!res.ok || !Array.isArray(body.results) || body.results.length !== batch.length) {
            const reason = body.fields ? Object.keys(body.fields).join(", ") : body.title || String(res.status);
            show("bad", t("upload_refused", { reason: reason }));
            return;
          }
          // Read again: a scan may have been added while the chunk was
          // on its way.
          const now = store.get(k, []);
          let flagged = null;
          let marked = 0;
          batch.forEach((sent, i) => {
            const s = now.find((x) => x.at === sent.at && x.token === sent.token);
            if (!s) return;
            marked++;
            s.uploaded = true;
            s.server = body.results[i];
            if (s.server.status !== "checked_in") flagged = s;
          });
          store.set(k, now);
          if (!marked) break; // the queue changed under us (another tab); the next round picks it up
          if (flagged) show(flagged.server.status === "duplicate" ? "warn" : "bad", serverText(flagged));
          renderLog();
        }
      }
    } finally {
      uploading = false;
      showNetwork();
      renderQueue();
    }
  }

  $("gate-manual").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const code = $("gate-code");
    handleCode(code.value).then(() => {
      code.value = "";
      code.focus();
    });
  });
  $("gate-upload").addEventListener("click", () => refreshBundle().then(upload));
  window.addEventListener("online", () => refreshBundle().then(upload));
  setInterval(upload, 5000);
  setInterval(refreshBundle, 60000);

  // The camera: jsQR reads each frame drawn onto a canvas.
  const video = $("gate-video");
  const camButton = $("gate-camera");
  let stream = null;
  let frame = 0;

  async function startCamera() {
    const status = $("gate-camera-status");
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || typeof window.jsQR !== "function") {
      status.textContent = t("camera_unavailable");
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
      video.srcObject = stream;
      video.hidden = false;
      await video.play();
    } catch (e) {
      stopCamera();
      status.textContent = t("camera_unavailable");
      return;
    }
    camButton.textContent = t("camera_stop");
    camButton.setAttribute("aria-pressed", "true");
    status.textContent = t("camera_on");
    const canvas = document.createElement("canvas");
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    let last = "", lastAt = 0, busy = false;
    const tick = () => {
      if (!stream) return;
      if (!busy && video.readyState >= 2 && video.videoWidth) {
        const w = Math.min(video.videoWidth, 640);
        const h = Math.round((video.videoHeight * w) / video.videoWidth);
        canvas.width = w;
        canvas.height = h;
        ctx.drawImage(video, 0, 0, w, h);
        const code = window.jsQR(ctx.getImageData(0, 0, w, h).data, w, h, { inversionAttempts: "dontInvert" });
        // A ticket held in front of the camera is read many times a
        // second; one reading is one scan.
        if (code && code.data && !(code.data === last && Date.now() - lastAt < 4000)) {
          last = code.data;
          lastAt = Date.now();
          busy = true;
          handleCode(code.data).finally(() => { busy = false; });
        }
      }
      frame = requestAnimationFrame(tick);
    };
    frame = requestAnimationFrame(tick);
  }

  function stopCamera() {
    cancelAnimationFrame(frame);
    if (stream) stream.getTracks().forEach((tr) => tr.stop());
    stream = null;
    video.srcObject = null;
    video.hidden = true;
    camButton.textContent = t("camera_start");
    camButton.setAttribute("aria-pressed", "false");
    $("gate-camera-status").textContent = "";
  }

  camButton.addEventListener("click", () => (stream ? stopCamera() : startCamera()));

  if (config) start();
  else $("gate-network").textContent = "";
})();
