// The organisers' gate screen polls its counts, so the doors can be
// watched as they open; the rest of the page is as it was loaded.
(function () {
  "use strict";
  const box = document.getElementById("gate-desk-counts");
  if (!box) return;
  const every = (Number(box.dataset.poll) || 3) * 1000;
  async function poll() {
    try {
      const res = await fetch(box.dataset.href, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } });
      if (!res.ok || res.redirected) return;
      const c = await res.json();
      const summary = document.getElementById("gate-summary");
      if (summary.textContent !== c.summary) summary.textContent = c.summary;
      const rows = c.gates.map((g) => {
        const tr = document.createElement("tr");
        const th = document.createElement("th");
        th.scope = "row";
        th.textContent = g.gate;
        const td = document.createElement("td");
        td.className = "num";
        td.textContent = g.checked_in;
        tr.append(th, td);
        return tr;
      });
      document.getElementById("gate-counts-body").replaceChildren(...rows);
      document.getElementById("gate-counts-at").textContent = c.at;
    } catch (e) {
      // The next poll tries again.
    }
  }
  setInterval(poll, every);
})();
