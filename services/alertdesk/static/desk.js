// Front Door alert desk: live cards over server-sent events, and actions without a page reload.
// No build step, no framework. Without JavaScript the page still works: forms post and redirect back.
"use strict";

(function () {
  document.documentElement.classList.add("js");
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

  // `lost` turns the line red with a different mark, so a dropped connection never reads as live.
  function setStatus(text, lost) {
    const status = document.getElementById("live-status");
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("lost", Boolean(lost));
  }

  function updateCount(feed) {
    const count = document.getElementById("alert-count");
    if (count) count.textContent = String(feed.querySelectorAll("article.card").length);
    const empty = document.getElementById("empty");
    if (empty) empty.hidden = feed.querySelector("article.card") !== null;
  }

  function cardFrom(html) {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    // A template parses <noscript> content as elements: drop the no-JavaScript forms from a card added live.
    template.content.querySelectorAll("noscript").forEach((node) => node.remove());
    return template.content.firstElementChild;
  }

  function addToTotal(delta, id = "alert-total") {
    const total = document.getElementById(id);
    if (total && /^[0-9,]+$/.test(total.textContent)) {
      total.textContent = (Number(total.textContent.replaceAll(",", "")) + delta).toLocaleString("en-GB");
    }
  }

  // By child: one card per child. A newer alert moves the child's card to the top of the first page (an older page
  // lets it go); any other change replaces the card where it is; nothing of the child matching removes it.
  function applyChildCard(feed, data) {
    const existing = Array.from(feed.querySelectorAll("article.card[data-child]")).find(
      (card) => card.dataset.child === data.child,
    );
    const before = existing ? Number(existing.dataset.alerts) : 0;
    if (!data.visible) {
      if (existing) {
        existing.remove();
        addToTotal(-before);
        addToTotal(-1, "child-total");
      }
    } else if (existing) {
      if (existing.contains(document.activeElement) && existing.querySelector("details[open]") !== null) return;
      const card = cardFrom(data.html);
      if (Number(data.newest) > Number(existing.dataset.newest)) {
        existing.remove();
        if (feed.dataset.live === "1") {
          card.classList.add("arrived");
          feed.prepend(card);
        }
      } else {
        existing.replaceWith(card);
      }
      addToTotal(Number(data.alerts) - before);
    } else if (feed.dataset.live === "1") {
      const card = cardFrom(data.html);
      card.classList.add("arrived");
      feed.prepend(card);
      addToTotal(1);
      if (Number(data.alerts) === 1) addToTotal(1, "child-total"); // more: the child was on an older page
    }
    updateCount(feed);
  }

  function applyCard(feed, data) {
    if (data.child !== undefined) {
      applyChildCard(feed, data);
      return;
    }
    const existing = document.getElementById("alert-" + data.alert_id);
    if (!data.visible) {
      if (existing) {
        existing.remove();
        addToTotal(-1);
      }
    } else if (existing) {
      // Keep an open form (e.g. a half-written note) rather than replacing it under the user's hands.
      if (!existing.contains(document.activeElement) || existing.querySelector("details[open]") === null) {
        existing.replaceWith(cardFrom(data.html));
      }
    } else if (feed.dataset.live === "1") {
      // Only the first page takes new alerts: an older page keeps its place.
      const card = cardFrom(data.html);
      card.classList.add("arrived");
      feed.prepend(card);
      addToTotal(1);
    }
    updateCount(feed);
  }

  function connect(feed) {
    const source = new EventSource(feed.dataset.stream);
    source.onopen = () => setStatus("Live: new alerts appear here as they are raised.");
    source.onerror = () => setStatus("Connection lost: reconnecting… New alerts will not appear until it is back.", true);
    source.addEventListener("reset", () => {
      feed.querySelectorAll("article.card").forEach((card) => card.remove());
      updateCount(feed);
    });
    source.addEventListener("card", (event) => applyCard(feed, JSON.parse(event.data)));
    source.addEventListener("expired", () => {
      source.close();
      window.location.assign("/login");
    });
  }

  async function submitAction(form) {
    const card = form.closest("article.card");
    const error = card ? card.querySelector(".action-error") : null;
    const button = form.querySelector('button[type="submit"]');
    if (button) button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { "X-CSRF-Token": csrf(), Accept: "application/json" },
        credentials: "same-origin",
      });
      if (!response.ok) throw new Error((await response.text()) || response.statusText);
      const data = await response.json();
      const fresh = cardFrom(data.html);
      if (card) keepChildParts(card, fresh);
      if (card) card.replaceWith(fresh); // a card the live feed replaced meanwhile is newer: it stays
      const status = fresh.querySelector(".status-line");
      if (status) {
        status.tabIndex = -1;
        status.focus();
      }
    } catch (err) {
      if (error) error.textContent = "Not saved: " + err.message;
      if (button) button.disabled = false;
    }
  }

  // The answer to an action is the alert's own card: on a child's card keep the child's severity and other alerts.
  function keepChildParts(old, fresh) {
    if (old.dataset.child === undefined) return;
    for (const key of ["child", "newest", "alerts"]) fresh.dataset[key] = old.dataset[key];
    fresh.classList.remove(...Array.from(fresh.classList).filter((name) => name.startsWith("sev-")));
    fresh.classList.add(...Array.from(old.classList).filter((name) => name.startsWith("sev-")));
    const severity = old.querySelector("header .severity");
    if (severity) fresh.querySelector("header .severity").replaceWith(severity);
    const also = old.querySelector(".also-open");
    if (also) fresh.querySelector(".status-line").after(also);
  }

  // A card's assign, note and close forms are copied from the page's one template when first asked for.
  function showForm(button) {
    const actions = button.closest(".actions");
    const template = document.getElementById("decision-forms");
    if (!actions || !template) return;
    let details = actions.querySelector(`details[data-form="${button.dataset.form}"]`);
    if (!details) {
      const html = template.innerHTML
        .replaceAll("__ALERT__", actions.dataset.alert)
        .replaceAll("__RID__", actions.dataset.rid);
      const holder = document.createElement("div");
      holder.innerHTML = html;
      details = holder.querySelector(`details[data-form="${button.dataset.form}"]`);
      actions.insertBefore(details, actions.querySelector(".action-error"));
    }
    details.open = true;
    const field = details.querySelector("input:not([type=hidden]), select, textarea");
    if (field) field.focus();
  }

  document.addEventListener("click", (event) => {
    const button = event.target instanceof Element ? event.target.closest("button.show-form") : null;
    if (button) showForm(button);
  });

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.classList.contains("js-action")) {
      event.preventDefault();
      submitAction(form);
    }
  });

  // The live connection opens once the page has loaded: an open stream would otherwise hold the page "loading".
  window.addEventListener("load", () => {
    const feed = document.getElementById("feed");
    if (feed && feed.dataset.stream && window.EventSource) connect(feed);
  });
})();
