// Front Door alert desk: a "Reveal LA child id" button in every identity placeholder (#identity or .identity with
// data-child). Each click posts to /children/{pseudonym}/reveal, which audits it; the id is shown, never stored.
"use strict";

(function () {
  const SELECTOR = "#identity[data-child], .identity[data-child]";
  const csrf = () => {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  };

  async function reveal(holder, button, output) {
    button.disabled = true;
    output.textContent = "Revealing…";
    try {
      const response = await fetch("/children/" + encodeURIComponent(holder.dataset.child) + "/reveal", {
        method: "POST",
        headers: { "X-CSRF-Token": csrf(), Accept: "application/json" },
        credentials: "same-origin",
      });
      if (!response.ok) {
        output.textContent = response.status === 403 ? "Not available to you" : "Could not reveal (" + response.status + ")";
        button.disabled = false;
        return;
      }
      const body = await response.json();
      output.textContent = "LA child id: " + body.la_child_id;
      output.classList.add("revealed");
      button.remove();  // the answer stays; asking again would only add another audit record
    } catch (error) {
      output.textContent = "Could not reveal: the desk did not answer";
      button.disabled = false;
    }
  }

  function attach(holder) {
    if (holder.dataset.identityReady === "1") return;
    holder.dataset.identityReady = "1";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "reveal";
    button.textContent = "Reveal LA child id";
    const output = document.createElement("span");
    output.className = "identity-value";
    output.setAttribute("role", "status");
    output.setAttribute("aria-live", "polite");
    button.addEventListener("click", () => reveal(holder, button, output));
    holder.append(button, output);
  }

  function attachAll(root) {
    if (root.matches && root.matches(SELECTOR)) attach(root);
    if (root.querySelectorAll) root.querySelectorAll(SELECTOR).forEach(attach);
  }

  document.addEventListener("DOMContentLoaded", () => {
    attachAll(document);
    // Cards that arrive later over the live feed get their button too.
    new MutationObserver((changes) => {
      for (const change of changes) change.addedNodes.forEach((node) => attachAll(node));
    }).observe(document.body, { childList: true, subtree: true });
  });
})();
