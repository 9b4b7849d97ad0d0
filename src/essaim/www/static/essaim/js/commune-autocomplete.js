/*
 * Commune autocomplete: the WAI-ARIA 1.2 combobox pattern (list autocomplete) on any input with
 * data-commune-autocomplete. Options come from the server as an HTML listbox partial (same origin,
 * escaped by Django templates). No inline script, CSP-safe.
 *
 * Input attributes: aria-controls (listbox id), data-commune-autocomplete-url (optional, defaults to the
 * form's search endpoint), data-commune-autocomplete-target (id of the hidden input receiving the INSEE
 * code), data-commune-autocomplete-status (id of a live region), data-commune-autocomplete-submit (submit
 * the form once a commune is chosen).
 */
(function () {
  "use strict";

  var DEFAULT_URL = "/territoires/communes/recherche/";
  var MIN_LENGTH = 2;
  var DELAY_MS = 200;

  function setup(input) {
    var listboxId = input.getAttribute("aria-controls");
    var url = input.dataset.communeAutocompleteUrl || DEFAULT_URL;
    var target = document.getElementById(input.dataset.communeAutocompleteTarget || "");
    var status = document.getElementById(input.dataset.communeAutocompleteStatus || "");
    var timer = null;
    var controller = null;
    var activeIndex = -1;

    function listbox() {
      return document.getElementById(listboxId);
    }

    function options() {
      var box = listbox();
      return box ? Array.prototype.slice.call(box.querySelectorAll('[role="option"]')) : [];
    }

    function announce(text) {
      if (status) status.textContent = text;
    }

    function setActive(index) {
      var items = options();
      activeIndex = index;
      items.forEach(function (item, i) {
        item.setAttribute("aria-selected", i === index ? "true" : "false");
        item.classList.toggle("is-active", i === index);
      });
      if (index >= 0 && items[index]) {
        input.setAttribute("aria-activedescendant", items[index].id);
        items[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    // Drops a pending or running search, so that a late answer cannot reopen a list the user closed.
    function cancel() {
      window.clearTimeout(timer);
      if (controller) controller.abort();
      controller = null;
    }

    function collapse() {
      var box = listbox();
      if (box) box.hidden = true;
      input.setAttribute("aria-expanded", "false");
      setActive(-1);
    }

    function expand() {
      var box = listbox();
      if (box && options().length) {
        box.hidden = false;
        input.setAttribute("aria-expanded", "true");
      }
    }

    function choose(option) {
      cancel();
      input.value = option.dataset.label;
      if (target) target.value = option.dataset.code;
      collapse();
      announce(option.dataset.label + " choisie.");
      if (input.dataset.communeAutocompleteSubmit !== undefined && input.form) {
        if (input.form.requestSubmit) input.form.requestSubmit();
        else input.form.submit();
      }
    }

    function render(html) {
      var template = document.createElement("template");
      template.innerHTML = html.trim();
      var fresh = template.content.querySelector('[role="listbox"]');
      var current = listbox();
      if (!fresh || !current) return;
      fresh.id = listboxId;
      current.replaceWith(fresh);
      activeIndex = -1;
      input.removeAttribute("aria-activedescendant");
      var count = options().length;
      if (count) {
        expand();
        announce(count === 1 ? "1 commune proposée." : count + " communes proposées.");
      } else {
        collapse();
        announce("Aucune commune trouvée.");
      }
    }

    function search() {
      var query = input.value.trim();
      cancel();
      if (query.length < MIN_LENGTH) {
        collapse();
        announce("");
        return;
      }
      controller = window.AbortController ? new AbortController() : null;
      var params = new URLSearchParams({ q: query, listbox: listboxId });
      fetch(url + "?" + params.toString(), {
        headers: { "HX-Request": "true", Accept: "text/html" },
        credentials: "same-origin",
        signal: controller ? controller.signal : undefined,
      })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.text();
        })
        .then(render)
        .catch(function (error) {
          if (error.name !== "AbortError") announce("La recherche de communes est indisponible.");
        });
    }

    input.addEventListener("input", function () {
      if (target) target.value = "";
      window.clearTimeout(timer);
      timer = window.setTimeout(search, DELAY_MS);
    });

    input.addEventListener("keydown", function (event) {
      var items = options();
      var open = input.getAttribute("aria-expanded") === "true";
      switch (event.key) {
        case "ArrowDown":
          event.preventDefault();
          if (!open) {
            expand();
            if (!items.length) search();
          }
          if (items.length) setActive(activeIndex + 1 >= items.length ? 0 : activeIndex + 1);
          break;
        case "ArrowUp":
          event.preventDefault();
          if (!open) expand();
          if (items.length) setActive(activeIndex <= 0 ? items.length - 1 : activeIndex - 1);
          break;
        case "Enter":
          if (open && activeIndex >= 0 && items[activeIndex]) {
            event.preventDefault();
            choose(items[activeIndex]);
          }
          break;
        case "Escape":
          cancel();
          if (open) {
            event.preventDefault();
            collapse();
          } else if (input.value) {
            event.preventDefault();
            input.value = "";
            if (target) target.value = "";
          }
          break;
        default:
          break;
      }
    });

    // mousedown keeps the focus on the input so that the blur handler does not close the list first.
    document.addEventListener("mousedown", function (event) {
      var option = event.target.closest ? event.target.closest('[role="option"]') : null;
      if (option && listbox() && listbox().contains(option)) event.preventDefault();
    });
    document.addEventListener("click", function (event) {
      var option = event.target.closest ? event.target.closest('[role="option"]') : null;
      if (option && listbox() && listbox().contains(option)) choose(option);
    });
    input.addEventListener("blur", function () {
      cancel();
      window.setTimeout(collapse, 150);
    });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-commune-autocomplete]"), setup);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
