/*
 * Essaim: the little JavaScript the pages need, hooked on data-* attributes (no inline scripts: strict CSP).
 * Everything works without it; it only enhances.
 */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  /* Mobile menu: the button is hidden without JS, so the navigation stays visible and usable. */
  function setupNavToggle(toggle) {
    var menu = document.getElementById(toggle.getAttribute("aria-controls"));
    if (!menu) {
      return;
    }
    function setOpen(open) {
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      menu.classList.toggle("is-open", open);
    }
    toggle.hidden = false;
    setOpen(false);
    toggle.addEventListener("click", function () {
      setOpen(toggle.getAttribute("aria-expanded") !== "true");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && toggle.getAttribute("aria-expanded") === "true") {
        setOpen(false);
        toggle.focus();
      }
    });
  }

  /* Error summaries present at page load: move the focus there so that screen readers announce them. */
  function focusOnLoad() {
    var target = document.querySelector("[data-focus-on-load]");
    if (target) {
      target.focus();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-nav-toggle]").forEach(setupNavToggle);
    focusOnLoad();
  });
})();
