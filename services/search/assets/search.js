// Results as you type, on top of the search form, which works without
// this file. The API's _formatted fields are HTML with <em> around
// matches; this script never assigns them as HTML: it splits them at the
// <em> marks and builds text nodes and <em> elements, so nothing in a
// document can become markup here.
"use strict";

(function () {
  var form = document.querySelector("[data-search-form]");
  var box = document.querySelector("[data-search-results]");
  if (!form || !box || !window.fetch) {
    return;
  }
  var input = form.querySelector("input[name=q]");
  var hitsList = box.querySelector("[data-search-hits]");
  var timer = 0;
  var seq = 0;

  function filterOf() {
    var parts = [];
    form.querySelectorAll("input[type=hidden][data-field]").forEach(function (h) {
      var field = h.getAttribute("data-field");
      var numeric = field === "year";
      parts.push(field + " = " + (numeric ? h.value : JSON.stringify(h.value)));
    });
    return parts.join(" AND ");
  }

  function typeOf() {
    var t = form.querySelector("input[data-search-type]");
    return t ? t.value : "";
  }

  // meta is the line under a hit's title, by type, as the page builds it.
  function metaOf(h) {
    var label = function (name) { return box.getAttribute("data-label-" + name) || name; };
    switch (h.type) {
      case "startup":
        return [h.tier ? label(h.tier) : "", h.city, h.industry, h.founded_year ? String(h.founded_year) : ""];
      case "developer":
        return [h.city, (h.skills || []).join(", ")];
      case "submission":
        return [h.contest, h.track, h.award === "finalist" ? label("finalist") : h.award, (h.authors || []).join(", ")];
      case "collection":
        var authors = h.authors || [];
        return [authors.slice(0, 3).join(", ") + (authors.length > 3 ? " …" : ""),
          h.edition > 1 ? label("edition").replace("{n}", String(h.edition)) : "", h.date ? h.date.slice(0, 10) : ""];
    }
    return [h.blog, (h.authors || []).join(", "), h.date ? h.date.slice(0, 10) : ""];
  }

  function title(el, h) {
    var f = h._formatted || {};
    if (h.type === "startup" || h.type === "developer") {
      marked(el, f.name);
      if (h.type === "startup" && h.name_en && h.name_en !== h.name) {
        el.appendChild(document.createTextNode(" · "));
        marked(el, f.name_en);
      }
      if (!h.name) {
        el.appendChild(document.createTextNode(box.getAttribute("data-label-developer")));
      }
      return;
    }
    marked(el, f.title);
    if (h.type === "collection" && h.title_en) {
      el.appendChild(document.createTextNode(" · "));
      marked(el, f.title_en);
    }
  }

  function decode(s) {
    return s.replace(/&(lt|gt|quot|#34|#39|amp);/g, function (_, e) {
      return { lt: "<", gt: ">", quot: '"', "#34": '"', "#39": "'", amp: "&" }[e];
    });
  }

  // marked appends the text of a _formatted value to el, with <em> for
  // the marked parts.
  function marked(el, html) {
    var parts = (html || "").split(/(<em>|<\/em>)/);
    var inEm = false;
    parts.forEach(function (p) {
      if (p === "<em>") { inEm = true; return; }
      if (p === "</em>") { inEm = false; return; }
      if (!p) { return; }
      var text = document.createTextNode(decode(p));
      if (inEm) {
        var em = document.createElement("em");
        em.appendChild(text);
        el.appendChild(em);
      } else {
        el.appendChild(text);
      }
    });
  }

  function render(data) {
    var count = box.querySelector("[data-search-count]");
    if (!count) {
      count = document.createElement("p");
      count.className = "search-count";
      count.setAttribute("data-search-count", "");
      box.insertBefore(count, hitsList);
    }
    box.querySelectorAll(".field-error, .search-none").forEach(function (n) { n.remove(); });
    count.textContent = box.getAttribute("data-label-count").replace("{n}", data.estimatedTotalHits.toLocaleString());
    hitsList.textContent = "";
    data.hits.forEach(function (h) {
      var li = document.createElement("li");
      li.className = "search-hit search-hit-" + h.type;
      var h2 = document.createElement("h2");
      var a = document.createElement("a");
      a.href = h.url || "/blog/" + encodeURIComponent(h.blog) + "/" + encodeURIComponent(h.slug);
      title(a, h);
      h2.appendChild(a);
      li.appendChild(h2);
      var meta = document.createElement("p");
      meta.className = "search-meta";
      meta.textContent = metaOf(h).filter(Boolean).join(" · ");
      if (meta.textContent) { li.appendChild(meta); }
      var text = h._formatted.body || h._formatted.summary;
      // As the page does: a collection shows its subtitle unless the
      // words were found in its preface or chapters.
      if (h.type === "collection" && h._formatted.summary && (h._formatted.body || "").indexOf("<em>") < 0) {
        text = h._formatted.summary;
      }
      if (text) {
        var p = document.createElement("p");
        p.className = "search-excerpt";
        marked(p, text);
        li.appendChild(p);
      }
      hitsList.appendChild(li);
    });
    if (data.hits.length === 0) {
      var none = document.createElement("p");
      none.className = "search-none";
      none.textContent = box.getAttribute("data-label-none");
      box.insertBefore(none, hitsList);
    }
  }

  function run() {
    var q = input.value;
    var params = new URLSearchParams({ q: q, limit: "20", facets: form.getAttribute("data-facets") || "" });
    if (typeOf()) { params.set("type", typeOf()); }
    var f = filterOf();
    if (f) { params.set("filter", f); }
    var mine = ++seq;
    fetch("/api/search?" + params.toString(), { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        if (mine !== seq) { return; } // a newer search is on its way
        render(data);
        var url = new URL(window.location.href);
        url.searchParams.set("q", q);
        window.history.replaceState(null, "", url.pathname + "?" + url.searchParams.toString());
      })
      .catch(function () {
        if (mine !== seq) { return; }
        hitsList.textContent = "";
        var err = document.createElement("p");
        err.className = "field-error";
        err.textContent = box.getAttribute("data-label-error");
        box.insertBefore(err, hitsList);
      });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(run, 150);
  });

  // Arrow keys move between the search box and the results; Escape
  // returns to the box.
  function links() { return Array.prototype.slice.call(hitsList.querySelectorAll("h2 a")); }
  document.addEventListener("keydown", function (e) {
    var ls = links();
    var i = ls.indexOf(document.activeElement);
    if (e.key === "ArrowDown" && (document.activeElement === input || i >= 0) && ls.length) {
      e.preventDefault();
      ls[Math.min(i + 1, ls.length - 1)].focus();
    } else if (e.key === "ArrowUp" && i >= 0) {
      e.preventDefault();
      if (i === 0) { input.focus(); } else { ls[i - 1].focus(); }
    } else if (e.key === "Escape" && i >= 0) {
      input.focus();
    }
  });
})();
