// What every Worn admin page shares: its session token, the API client, small DOM helpers, navigation.
//
// Session tokens: inside the Shopify admin App Bridge is loaded and `shopify.idToken()` returns a fresh
// token for every call. In a plain browser against `worn dev-shop` there is no App Bridge: the page starts
// with the token it was opened with (verified by the server) and renews it through the app's dev-only
// route, which exists only when the app talks to a dev-shop. With neither, an expired session ends with a
// banner asking the merchant to open Worn again from the admin.

export const config = JSON.parse(document.getElementById("worn-config").textContent);
const RETRY_HEADER = "X-Shopify-Retry-Invalid-Session-Request";
const storeKey = `worn.idToken.${config.shop}`;
let current = config.idToken;
let renewing = null;
// The browser's clock may be off from the server's; token times are the server's, so compare with that.
let skew = (config.serverTime || Date.now()) - Date.now();

try {
  sessionStorage.setItem(storeKey, current);
} catch {
  /* storage may be disabled; renewal then only works while the page is open */
}

export class ApiError extends Error {
  constructor(status, error) {
    super((error && error.message) || `request failed (${status})`);
    this.status = status;
    this.code = error && error.code;
    this.field = error && error.field;
    this.fields = (error && error.fields) || [];
  }
}

export class SessionLost extends Error {}

function expiresAt(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload)).exp * 1000;
  } catch {
    return 0;
  }
}

function appBridge() {
  return window.shopify && typeof window.shopify.idToken === "function" ? window.shopify : null;
}

async function renew() {
  if (!config.devTokenUrl) throw new SessionLost("no way to renew the session outside the Shopify admin");
  const response = await fetch(config.devTokenUrl, {
    method: "POST",
    headers: { Authorization: `Bearer ${current}` },
  });
  if (!response.ok) throw new SessionLost(`session renewal refused (${response.status})`);
  const answer = await response.json();
  current = answer.token;
  if (answer.server_time) skew = answer.server_time - Date.now();
  try {
    sessionStorage.setItem(storeKey, current);
  } catch {
    /* see above */
  }
  return current;
}

/** Return a session token for the next request; `force` asks for a new one (after a 401). */
export async function sessionToken(force = false) {
  const bridge = appBridge();
  if (bridge) return bridge.idToken();
  if (!force && current && expiresAt(current) - (Date.now() + skew) > 5000) return current;
  renewing = renewing || renew().finally(() => (renewing = null));
  return renewing;
}

function sessionEnded() {
  if (config.reopenUrl) document.getElementById("reopen").href = config.reopenUrl;
  document.getElementById("session-banner").hidden = false;
}

/** Call the JSON API with a session token; retry once with a new token when the server asks for it. */
export async function api(path, { method = "GET", json, form } = {}) {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    let token;
    try {
      token = await sessionToken(attempt > 0);
    } catch (error) {
      sessionEnded();
      throw error;
    }
    const headers = { Authorization: `Bearer ${token}`, Accept: "application/json" };
    let body;
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    } else if (form) {
      body = form;
    }
    const response = await fetch(path, { method, headers, body });
    if (response.status === 401 && response.headers.get(RETRY_HEADER) === "1" && attempt === 0) continue;
    const isJson = (response.headers.get("Content-Type") || "").includes("json");
    const data = isJson ? await response.json() : null;
    if (response.status === 401) sessionEnded();
    if (!response.ok) {
      // Refusals of a decision (409, 404) come as {result: {code, detail}}; bad input as {error: {...}}.
      const result = data && data.result;
      throw new ApiError(response.status, (data && data.error) || (result && { code: result.code, message: result.detail }));
    }
    return data;
  }
  throw new SessionLost("the session token was refused twice");
}

/** Build an element: h("a", {href, class, onClick}, "text", child...). Text is never parsed as HTML. */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      element.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "class") {
      element.className = value;
    } else if (key === "dataset") {
      Object.assign(element.dataset, value);
    } else {
      element.setAttribute(key, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  if (tag === "s-button") enhanceButton(element);
  return element;
}

// Polaris's s-button is a real button once its script loads. Until then (or without the CDN) it is an
// unknown element: give it a button's role, focus and keys so the page works by keyboard either way.
function enhanceButton(element) {
  if (customElements.get("s-button")) return;
  element.setAttribute("role", "button");
  element.tabIndex = element.hasAttribute("disabled") ? -1 : 0;
}

document.addEventListener("keydown", (event) => {
  const target = event.target;
  if (target instanceof Element && target.matches("s-button[role=button]") && (event.key === "Enter" || event.key === " ")) {
    event.preventDefault();
    target.click();
  }
});

/** Make an s-button that runs `onClick` once at a time (disabled while it runs). */
export function button(label, onClick, { variant, tone, id, shortcut, title } = {}) {
  const element = h("s-button", { variant, tone, id, title, "aria-keyshortcuts": shortcut }, label,
    shortcut ? h("kbd", { "aria-hidden": "true" }, shortcut) : null);
  element.addEventListener("click", async (event) => {
    if (element.hasAttribute("disabled") || element.hasAttribute("loading")) return;
    event.stopPropagation();
    element.setAttribute("loading", "");
    try {
      await onClick(event);
    } finally {
      element.removeAttribute("loading");
    }
  });
  return element;
}

export function setDisabled(element, disabled) {
  element.toggleAttribute("disabled", disabled);
  if (element.getAttribute("role") === "button") element.tabIndex = disabled ? -1 : 0;
}

const TONES = {
  awaiting_review: ["caution", "Awaiting review"],
  approved: ["info", "Approved"],
  written: ["success", "On your store"],
  rejected: [null, "Rejected"],
  failed: ["critical", "Failed"],
  superseded: [null, "Replaced"],
  expired: [null, "Expired"],
  queued: ["info", "Queued"],
  running: ["info", "Rendering"],
  done: ["success", "Done"],
  cancelled: [null, "Cancelled"],
  staged: ["info", "Uploading"],
  uploaded: ["info", "Uploaded"],
  attached: ["info", "Processing"],
  ready: ["info", "Ordering"],
  removed: [null, "Removed"],
  pending: ["caution", "Awaiting approval"],
  retired: [null, "Retired"],
};

/** Return a badge for a state code, in plain words. */
export function badge(state) {
  const [tone, label] = TONES[state] || [null, state];
  return h("s-badge", { tone, dataset: { state } }, label);
}

/** Say how long ago an ISO time was, in words ("3 min ago"). */
export function ago(iso) {
  if (!iso) return "";
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 45) return "just now";
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return new Date(iso).toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

/** Show a short message (App Bridge's toast inside the admin). */
export function toast(message, { error = false } = {}) {
  const bridge = appBridge();
  if (bridge && bridge.toast) {
    bridge.toast.show(message, { isError: error });
    return;
  }
  const item = h("div", { class: `toast${error ? " error" : ""}` }, message);
  document.getElementById("toasts").append(item);
  setTimeout(() => item.remove(), 4000);
}

/** Show an API error: a 409's explanation, a 400's field message, or a generic failure. */
export function showError(error) {
  if (error instanceof SessionLost) return;
  toast(error.message || "Something went wrong", { error: true });
}

/** Fill `list` with pages of `path` (the API's {items, next_cursor}), with a "Show more" button. */
export function paginate(list, more, path, render, { empty, params = {}, onPage } = {}) {
  let cursor = null;
  async function load() {
    const query = new URLSearchParams(params);
    if (cursor) query.set("cursor", cursor);
    const page = await api(`${path}?${query}`);
    if (onPage) onPage(page, cursor === null);
    if (cursor === null) list.replaceChildren();
    for (const item of page.items) list.append(render(item));
    if (cursor === null && page.items.length === 0 && empty) list.append(empty());
    list.removeAttribute("aria-busy");
    cursor = page.next_cursor;
    more.replaceChildren();
    if (cursor) more.append(h("div", { class: "more" }, button("Show more", load)));
    return page;
  }
  return {
    reload() {
      cursor = null;
      return load();
    },
  };
}

/** Go to another page of the app with a fresh session token (and the admin's shop and host). */
export async function go(href) {
  const url = new URL(href, location.origin);
  const here = new URLSearchParams(location.search);
  for (const keep of ["host", "embedded", "locale"]) {
    if (here.has(keep) && !url.searchParams.has(keep)) url.searchParams.set(keep, here.get(keep));
  }
  url.searchParams.set("shop", config.shop);
  try {
    url.searchParams.set("id_token", await sessionToken());
  } catch {
    sessionEnded();
    return;
  }
  location.assign(url.toString());
}

document.addEventListener("click", (event) => {
  const link = event.target instanceof Element && event.target.closest("a[data-nav]");
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  const url = new URL(link.getAttribute("href"), location.origin);
  if (url.origin !== location.origin) return;
  event.preventDefault();
  if (url.pathname === location.pathname && url.hash) {
    location.hash = url.hash;
    return;
  }
  go(url.pathname + url.search + url.hash);
});

// Outside the admin the token sits in the address bar; take it out so a reload or a copied link does not
// reuse it (a reload goes through the patch-ID-token page and renews it instead).
if (!config.embedded) {
  const url = new URL(location.href);
  if (url.searchParams.has("id_token")) {
    url.searchParams.delete("id_token");
    history.replaceState(history.state, "", url.toString());
  }
}

for (const element of document.querySelectorAll("s-button")) enhanceButton(element);

/** Run `fn` and show its error instead of throwing. */
export async function attempt(fn) {
  try {
    return await fn();
  } catch (error) {
    showError(error);
    return undefined;
  }
}
