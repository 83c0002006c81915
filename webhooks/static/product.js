// Product review: the merchant's photo beside each draft, the numbers that matter, the decisions, and the
// write-back's progress until the image is live on the product. Keyboard: ↑/↓ (or J/K) move, A approve,
// R reject, Z zoom and compare, Esc close.
import { ApiError, api, attempt, badge, button, config, h, setDisabled, showError, toast } from "./worn.js";

const KIND_LABELS = { necklace: "Necklace", pendant: "Pendant", earrings: "Earrings", ring: "Ring", bracelet: "Bracelet", anklet: "Anklet" };
const STEPS = [
  ["queued", "Queued"],
  ["uploading", "Uploading"],
  ["processing", "Processing"],
  ["live", "Live"],
];
const STEP_OF = { queued: 0, staged: 1, uploaded: 1, attached: 2, ready: 2, done: 3 };
const FINAL = new Set(["done", "failed", "removed"]);

const state = { product: null, source: null, thresholds: {}, drafts: [], cursor: null, selected: 0, counts: {} };
const list = document.getElementById("drafts");
const polls = new Map();
let rendering = null;

// --- numbers ---------------------------------------------------------------------------------------------

function length(mm) {
  if (mm === null || mm === undefined) return "–";
  return mm >= 100 ? `${(mm / 10).toFixed(1)} cm` : `${mm.toFixed(1)} mm`;
}

function check(pass, text) {
  return h("span", { class: `check ${pass ? "pass" : "fail"}` }, pass ? `✓ ${text}` : `✗ ${text}`);
}

function metric(label, ...value) {
  return h("div", { class: "metric" }, h("dt", {}, label), h("dd", {}, ...value));
}

const QUANTITIES = {
  chain_length: "Chain length",
  drop_length: "Drop",
  stud_diameter: "Stud",
  ring_inner_diameter: "Inner diameter",
  bracelet_length: "Length",
};

function statedSize(q) {
  // Words from the product ("18 in") read best; a metafield's raw value does not, so show it in mm/cm.
  return q.size_source === "text" && q.size_text ? `“${q.size_text}”` : length(q.stated_mm);
}

function verdict(passed, fallback) {
  // The renderer says which bars a draft passed; older reports are judged against the style's numbers.
  return typeof passed === "boolean" ? passed : fallback;
}

function metrics(draft) {
  const q = draft.quality;
  const t = state.thresholds;
  const rows = [];
  if (q.ssim !== null || q.delta_e !== null) {
    const ok = verdict(q.passed.fidelity, (q.ssim ?? 1) >= (t.min_ssim ?? 0) && (q.delta_e ?? 0) <= (t.max_delta_e ?? Infinity));
    rows.push(metric("Fidelity",
      q.ssim !== null ? h("span", { class: "value" }, `SSIM ${q.ssim.toFixed(3)}`) : null,
      q.delta_e !== null ? h("span", { class: "value" }, ` · ΔE ${q.delta_e.toFixed(1)}`) : null,
      check(ok, ok ? "pass" : "below the bar"),
      t.min_ssim ? h("div", { class: "subdued small" }, `bar: SSIM ≥ ${t.min_ssim}, ΔE ≤ ${t.max_delta_e}`) : null));
  } else {
    rows.push(metric("Fidelity", h("span", { class: "subdued" }, "not measured")));
  }
  if (q.achieved_mm !== null) {
    const what = QUANTITIES[q.quantity] || "Size";
    const off = q.scale_error ?? (q.stated_mm ? (q.achieved_mm - q.stated_mm) / q.stated_mm : null);
    const stated = q.size_source === "typical"
      ? h("span", { class: "subdued" }, ` · typical size: none stated`)
      : q.stated_mm !== null
        ? h("span", { class: "subdued" }, ` of ${statedSize(q)} stated`)
        : null;
    const ok = verdict(q.passed.scale, off === null || Math.abs(off) <= (t.scale_tolerance ?? Infinity));
    rows.push(metric(what,
      h("span", { class: "value" }, length(q.achieved_mm)), stated,
      off !== null ? check(ok, `${off >= 0 ? "+" : "−"}${Math.abs(off * 100).toFixed(1)}%`) : null));
  }
  if (q.confidence !== null) {
    rows.push(metric("Placement",
      h("span", { class: "value" }, `${Math.round(q.confidence * 100)}%`), h("span", { class: "subdued" }, " confident"),
      q.passed.confidence === false ? check(false, "low") : null,
      h("div", { class: "meter" }, h("span", { style: `width:${Math.round(q.confidence * 100)}%` }))));
  }
  rows.push(metric("Model", h("span", { class: "value" }, draft.model), h("span", { class: "subdued" }, ` · plate ${draft.plate_id}`)));
  const list = h("dl", { class: "metrics" }, rows);
  if (!q.notes.length) return list;
  return h("div", {}, list, h("details", { class: "notes" }, h("summary", {}, "How it was made"),
    h("ul", {}, q.notes.map((note) => h("li", {}, note)))));
}

// --- write-back progress ---------------------------------------------------------------------------------

function productUrl() {
  return config.devShopUrl ? `${config.devShopUrl}/` : state.product.admin_url;
}

function progress(draft) {
  const wb = draft.write_back;
  if (!wb) return null;
  const reached = wb.state === "failed" ? -1 : STEP_OF[wb.state] ?? 0;
  const steps = h("ol", { class: "steps", "aria-label": "Adding to your product" },
    STEPS.map(([key, label], index) => {
      let cls = index < reached || reached === 3 ? "done" : index === reached ? "current" : "";
      if (wb.state === "failed" && index === 0) cls = "failed";
      return h("li", { class: cls, dataset: { step: key } }, label);
    }));
  const box = h("div", { class: "progress", dataset: { writeBack: wb.id, state: wb.state } }, steps);
  if (wb.state === "done") {
    box.append(h("p", { class: "live" }, "✓ Live on your product ",
      h("a", { href: productUrl(), target: "_top", rel: "noopener" }, "View product →")));
  } else if (wb.state === "failed") {
    box.append(h("p", { class: "check fail" }, wb.last_error || "Shopify did not accept the image"),
      button("Try again", () => retryWriteBack(draft)));
  } else if (wb.state === "removed") {
    box.append(h("p", { class: "subdued" }, "Removed from the product when its photo changed"));
  } else {
    box.append(h("p", { class: "subdued small" }, "Adding the image to your product…"));
  }
  return box;
}

function poll(draft) {
  const wb = draft.write_back;
  if (!wb || FINAL.has(wb.state) || polls.has(wb.id)) return;
  const tick = async () => {
    try {
      const fresh = await api(`/api/write-backs/${wb.id}`);
      const current = state.drafts.find((d) => d.id === draft.id);
      if (current) {
        current.write_back = fresh;
        if (fresh.state === "done") current.state = "written";
        if (fresh.state === "failed") current.state = "failed";
        replace(current);
      }
      if (FINAL.has(fresh.state)) {
        polls.delete(wb.id);
        if (fresh.state === "done") toast("The image is live on your product");
        return;
      }
    } catch (error) {
      if (!(error instanceof ApiError)) {
        polls.delete(wb.id);
        return;
      }
    }
    polls.set(wb.id, setTimeout(tick, 1500));
  };
  polls.set(wb.id, setTimeout(tick, 800));
}

async function retryWriteBack(draft) {
  await attempt(async () => {
    await api(`/api/write-backs/${draft.write_back.id}/retry`, { method: "POST" });
    draft.write_back = { ...draft.write_back, state: "queued", last_error: null };
    draft.state = "approved";
    replace(draft);
    poll(draft);
  });
}

// --- drafts ----------------------------------------------------------------------------------------------

function actions(draft) {
  const box = h("div", { class: "draft-actions" });
  if (draft.state === "awaiting_review") {
    box.append(
      button("Approve", () => decide(draft, "approve"), { variant: "primary", shortcut: "A" }),
      button("Reject", () => decide(draft, "reject"), { tone: "critical", shortcut: "R" }));
  } else if (draft.state === "rejected") {
    box.append(h("span", { class: "subdued small" }, "You rejected this draft."),
      button("Approve instead", () => decide(draft, "approve"), { variant: "tertiary" }));
  }
  box.append(button("Zoom", () => openLightbox(draft), { variant: "tertiary", shortcut: "Z" }));
  return box;
}

function card(draft, index) {
  const notOffered = draft.state === "failed" && !draft.write_back;
  const image = draft.thumb_url
    ? h("button", { type: "button", class: "image-button", "aria-label": "Zoom and compare with your photo", onClick: () => openLightbox(draft) },
      h("img", { src: draft.thumb_url, alt: `${state.product.title} worn by ${draft.model}`, loading: index < 2 ? "eager" : "lazy", width: 400, height: 500 }))
    : h("div", { class: "no-image" }, h("strong", {}, "Not offered"), draft.error || "The render did not pass its checks");
  return h("article", {
    class: `draft state-${draft.state}${notOffered ? " not-offered" : ""}${index === state.selected ? " selected" : ""}`,
    tabindex: "-1",
    "aria-label": `Draft on ${draft.model}`,
    dataset: { draftId: draft.id, state: draft.state },
    onClick: () => select(state.drafts.indexOf(draft), false),
  },
    image,
    h("div", { class: "draft-info" },
      h("div", { class: "draft-head" }, h("h3", {}, draft.model), notOffered ? h("s-badge", { tone: "critical" }, "Not offered") : badge(draft.state)),
      notOffered ? h("p", { class: "check fail" }, draft.error || "The render did not pass its checks") : null,
      metrics(draft),
      progress(draft),
      notOffered ? null : actions(draft)));
}

function replace(draft) {
  const index = state.drafts.indexOf(draft);
  const old = list.querySelector(`[data-draft-id="${draft.id}"]`);
  if (old) old.replaceWith(card(draft, index));
}

function select(index, focus = true) {
  const cards = [...list.querySelectorAll(".draft")];
  if (!cards.length) return;
  state.selected = Math.max(0, Math.min(index, cards.length - 1));
  cards.forEach((element, i) => element.classList.toggle("selected", i === state.selected));
  if (focus) {
    cards[state.selected].focus({ preventScroll: true });
    cards[state.selected].scrollIntoView({ block: "nearest", behavior: "smooth" });
  }
}

async function decide(draft, action) {
  try {
    const answer = await api(`/api/drafts/${draft.id}/${action}`, { method: "POST", json: {} });
    const result = answer.result;
    draft.state = result.state;
    if (result.write_back_id) {
      draft.write_back = draft.write_back || { id: result.write_back_id, state: "queued", attempts: 0, last_error: null };
    }
    replace(draft);
    poll(draft);
    toast(action === "approve" ? (result.code === "approved" ? "Approved: adding it to your product" : "Already approved") : "Rejected");
    refreshCounts();
    const next = state.drafts.findIndex((d, i) => i > state.drafts.indexOf(draft) && d.state === "awaiting_review");
    if (next >= 0) select(next);
  } catch (error) {
    showError(error);
  }
}

function refreshCounts() {
  const awaiting = state.drafts.filter((d) => d.state === "awaiting_review").length;
  const approveAll = document.getElementById("approve-all");
  if (approveAll) {
    approveAll.firstChild.textContent = awaiting ? `Approve all ${awaiting}` : "Approve all";
    setDisabled(approveAll, awaiting === 0);
  }
}

// --- lightbox: the draft and the source side by side, each zoomable --------------------------------------

const lightbox = document.getElementById("lightbox");
const panes = document.getElementById("lightbox-panes");
let lastFocus = null;

function zoomPane(label, src) {
  const view = { scale: 1, x: 0, y: 0 };
  const image = h("img", { src, alt: label, draggable: "false" });
  const pane = h("div", { class: "pane" }, h("span", { class: "label" }, label), image);
  const apply = () => {
    image.style.transform = `translate(-50%, -50%) translate(${view.x}px, ${view.y}px) scale(${view.scale})`;
  };
  pane.zoom = (factor) => {
    view.scale = Math.max(1, Math.min(8, view.scale * factor));
    if (view.scale === 1) view.x = view.y = 0;
    apply();
  };
  pane.reset = () => {
    Object.assign(view, { scale: 1, x: 0, y: 0 });
    apply();
  };
  pane.addEventListener("wheel", (event) => {
    event.preventDefault();
    pane.zoom(event.deltaY < 0 ? 1.2 : 1 / 1.2);
  }, { passive: false });
  let drag = null;
  pane.addEventListener("pointerdown", (event) => {
    drag = { x: event.clientX - view.x, y: event.clientY - view.y };
    pane.setPointerCapture(event.pointerId);
  });
  pane.addEventListener("pointermove", (event) => {
    if (!drag || view.scale === 1) return;
    view.x = event.clientX - drag.x;
    view.y = event.clientY - drag.y;
    apply();
  });
  pane.addEventListener("pointerup", () => (drag = null));
  pane.addEventListener("dblclick", () => (view.scale > 1 ? pane.reset() : pane.zoom(2.5)));
  apply();
  return pane;
}

function openLightbox(draft) {
  lastFocus = document.activeElement;
  document.getElementById("lightbox-title").textContent = draft ? `${draft.model} · draft ${draft.id}` : "Your photo";
  const items = [];
  if (draft) items.push(zoomPane(`Draft on ${draft.model}`, draft.image_url || draft.thumb_url));
  if (state.source && state.source.url) items.push(zoomPane("Your photo", state.source.url));
  panes.style.gridTemplateColumns = `repeat(${items.length}, 1fr)`;
  panes.replaceChildren(...items);
  lightbox.hidden = false;
  document.getElementById("lightbox-close").focus();
}

function closeLightbox() {
  lightbox.hidden = true;
  panes.replaceChildren();
  if (lastFocus) lastFocus.focus({ preventScroll: true });
}

document.getElementById("lightbox-close").addEventListener("click", closeLightbox);
document.getElementById("source-zoom").addEventListener("click", () => openLightbox(null));

document.addEventListener("keydown", (event) => {
  if (event.metaKey || event.ctrlKey || event.altKey) return;
  if (event.target instanceof Element && event.target.matches("input, textarea, select")) return;
  if (!lightbox.hidden) {
    const all = [...panes.children];
    if (event.key === "Escape") closeLightbox();
    else if (event.key === "+" || event.key === "=") all.forEach((p) => p.zoom(1.25));
    else if (event.key === "-") all.forEach((p) => p.zoom(0.8));
    else if (event.key === "0") all.forEach((p) => p.reset());
    else return;
    event.preventDefault();
    return;
  }
  const draft = state.drafts[state.selected];
  const key = event.key.toLowerCase();
  if (key === "arrowdown" || key === "arrowright" || key === "j") select(state.selected + 1);
  else if (key === "arrowup" || key === "arrowleft" || key === "k") select(state.selected - 1);
  else if (key === "a" && !event.shiftKey && draft && ["awaiting_review", "rejected"].includes(draft.state)) decide(draft, "approve");
  else if (key === "r" && draft && draft.state === "awaiting_review") decide(draft, "reject");
  else if ((key === "z" || key === "enter") && draft && !(event.target instanceof Element && event.target.closest("s-button, button, a"))) openLightbox(draft);
  else return;
  event.preventDefault();
});

// --- loading ---------------------------------------------------------------------------------------------

async function requestRender(kind) {
  await attempt(async () => {
    const path = `/api/products/${config.product_id}/${kind}`;
    const answer = await api(path, { method: "POST", json: {} });
    const plates = answer.result.plates || [];
    toast(answer.result.code === "queued"
      ? `Rendering on ${plates.length === 1 ? plates[0] : `${plates.length} models`}: drafts appear here when ready`
      : "Already rendering");
    await load();
  });
}

function header(data) {
  const product = data.product;
  document.title = `${product.title} · Review · Worn`;
  document.getElementById("product-title").textContent = product.title;
  const meta = document.getElementById("product-meta");
  const q = (data.drafts.items.find((d) => d.quality.stated_mm !== null) || { quality: null }).quality;
  const size = q && q.size_source !== "typical" ? statedSize(q) : null;
  meta.replaceChildren(
    product.kind ? h("s-badge", {}, KIND_LABELS[product.kind] || product.kind) : "",
    size ? ` · stated size ${size}` : q ? " · no size stated: shown at a typical size" : "",
    " · ",
    h("a", { href: productUrl(), target: "_top", rel: "noopener" }, config.devShopUrl ? "Open in the dev-shop" : "Open in Shopify"));
  const awaiting = data.counts.awaiting_review || 0;
  const approveAll = button(awaiting ? `Approve all ${awaiting}` : "Approve all", approveAllDrafts, { variant: "primary", id: "approve-all" });
  setDisabled(approveAll, awaiting === 0);
  document.getElementById("product-actions").replaceChildren(
    button("Another model", () => requestRender("another-plate"), { id: "another-plate", title: "Render on a model this piece has not been shown on yet" }),
    button("Render again", () => requestRender("rerender"), { id: "rerender", title: "Render on every model again" }),
    approveAll);
  const image = document.getElementById("source-image");
  if (data.source.thumb_url) {
    image.src = data.source.thumb_url;
    image.alt = data.source.alt || `${product.title}: your photo`;
    image.hidden = false;
  } else {
    document.getElementById("source-note").textContent = "This product has no photo Worn can use.";
  }
}

async function approveAllDrafts() {
  await attempt(async () => {
    const answer = await api(`/api/products/${config.product_id}/approve-all`, { method: "POST", json: {} });
    const count = answer.result.approved.length;
    toast(count ? `Approved ${count} draft${count === 1 ? "" : "s"}: adding them to your product` : "Nothing left to approve");
    await load();
  });
}

function notice(data) {
  const box = document.getElementById("product-notice");
  box.replaceChildren();
  if (data.rendering.length) {
    box.append(h("div", { class: "banner info", id: "rendering-note" }, "Rendering new drafts… they appear here automatically."));
  } else if (data.product.decision && !["jewelry"].includes(data.product.decision)) {
    box.append(h("div", { class: "banner warning" }, `Skipped: ${data.product.decision_detail || data.product.decision}`));
  }
}

function watchRendering() {
  if (rendering) return;
  rendering = setInterval(async () => {
    const data = await api(`/api/products/${config.product_id}?limit=1`).catch(() => null);
    if (!data || data.rendering.length === 0) {
      clearInterval(rendering);
      rendering = null;
      await attempt(load);
    }
  }, 3000);
}

async function load(append = false) {
  const query = new URLSearchParams({ limit: "12" });
  if (append && state.cursor) query.set("cursor", state.cursor);
  const data = await api(`/api/products/${config.product_id}?${query}`);
  state.product = data.product;
  state.source = data.source;
  state.thresholds = data.thresholds;
  state.counts = data.counts;
  state.drafts = append ? state.drafts.concat(data.drafts.items) : data.drafts.items;
  state.cursor = data.drafts.next_cursor;
  header(data);
  notice(data);
  list.replaceChildren(...state.drafts.map((draft, index) => card(draft, index)));
  if (!state.drafts.length) {
    list.append(h("div", { class: "panel empty" }, h("strong", {}, "No drafts yet"),
      data.rendering.length ? "Worn is rendering this piece now." : "Ask for a render with “Render again”."));
  }
  if (state.cursor) list.append(h("div", { class: "more" }, button("Show more drafts", () => attempt(() => load(true)))));
  list.removeAttribute("aria-busy");
  state.drafts.forEach(poll);
  if (data.rendering.length) watchRendering();
  select(Math.min(state.selected, Math.max(0, state.drafts.length - 1)), false);
}

attempt(load);
