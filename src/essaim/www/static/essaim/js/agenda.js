/*
 * Agenda sharing: "Copier" buttons next to read-only fields holding a feed address or an embed code
 * (<button data-copy="ID"> copies the field #ID; the nearest [data-copy-status] announces it). Buttons stay
 * hidden without JavaScript or clipboard: the fields can still be selected and copied by hand.
 * Delegated on the document, so blocks swapped in by HTMX work too. No inline script (strict CSP).
 */
(function () {
  "use strict";

  if (window.essaimAgendaCopy) {
    return;
  }
  window.essaimAgendaCopy = true;

  function reveal(root) {
    if (!(navigator.clipboard && window.isSecureContext)) {
      return;
    }
    root.querySelectorAll("[data-copy]").forEach(function (button) {
      button.hidden = false;
    });
  }

  function statusFor(button) {
    var scope = button.closest("section") || document;
    return scope.querySelector("[data-copy-status]");
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) {
      return;
    }
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) {
      return;
    }
    var status = statusFor(button);
    navigator.clipboard.writeText(field.value).then(
      function () {
        if (status) {
          status.textContent = "Adresse copiée : collez-la dans votre logiciel.";
          if (field.tagName === "TEXTAREA") {
            status.textContent = "Code copié : collez-le dans la page du site partenaire.";
          }
        }
      },
      function () {
        field.focus();
        field.select();
        if (status) {
          status.textContent = "La copie a échoué : le texte est sélectionné, copiez-le avec Ctrl+C.";
        }
      }
    );
  });

  // A click in a read-only field selects all of it (one shortcut away from copying).
  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("[data-copy-source]")) {
      event.target.select();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    reveal(document);
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    reveal(event.target);
  });
})();
