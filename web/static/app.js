// Progressive enhancement only: every page works without this file.
//
// Password fields get a show/hide control, so that a long password typed on
// a phone can be checked before it is sent. The labels come from the page
// (data-show-label, data-hide-label), which has them in the visitor's
// language.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("input[type=password][data-show-label]").forEach(function (input) {
    var show = input.getAttribute("data-show-label");
    var hide = input.getAttribute("data-hide-label");
    var wrap = document.createElement("div");
    wrap.className = "password-wrap";
    input.parentNode.insertBefore(wrap, input);
    wrap.appendChild(input);
    var button = document.createElement("button");
    button.type = "button";
    button.className = "password-toggle";
    button.textContent = show;
    button.setAttribute("aria-controls", input.id);
    button.addEventListener("click", function () {
      var visible = input.type === "password";
      input.type = visible ? "text" : "password";
      button.textContent = visible ? hide : show;
    });
    wrap.appendChild(button);
  });
  // A shown password turns back into a password field before the form is
  // sent, so the browser does not keep it in a text field's autofill history.
  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("input[data-show-label]").forEach(function (input) {
        input.type = "password";
      });
    });
  });
});

// The bell in the frame shows how many notifications are unread. A page
// drawn by a service that runs without the notifier leaves the count to
// this script, which also keeps it current while the page stays open.
document.addEventListener("DOMContentLoaded", function () {
  var bell = document.querySelector("a.bell[data-unread-src]");
  if (!bell || !window.fetch) {
    return;
  }
  var count = bell.querySelector("[data-unread]");
  function refresh() {
    fetch(bell.getAttribute("data-unread-src"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body || !body.signed_in) {
          return;
        }
        count.textContent = body.unread > 0 ? String(body.unread) : "";
        count.hidden = !(body.unread > 0);
        if (body.label) {
          bell.setAttribute("aria-label", body.label);
        }
      })
      .catch(function () {});
  }
  refresh();
  setInterval(function () {
    if (!document.hidden) {
      refresh();
    }
  }, 60000);
});
