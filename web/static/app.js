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
