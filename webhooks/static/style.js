// House style: the model roster (upload, what each plate can carry and why not, retire), generated plates
// awaiting approval, and the settings (look, output, approval, write-back, jewelry rules). Every save makes
// a new version of the style; a save based on an older version is refused rather than overwriting.
import { ApiError, ago, api, attempt, badge, button, h, paginate, showError, toast } from "./worn.js";

const KIND_LABELS = { necklace: "Necklace", pendant: "Pendant", earrings: "Earrings", ring: "Ring", bracelet: "Bracelet", anklet: "Anklet" };
const RULE_FIELDS = { product_type: "Type", tag: "Tag", title: "Title", vendor: "Vendor", category: "Category" };
const SECTIONS = ["look", "output", "approval", "write_back", "jewelry"];
const form = document.getElementById("settings");
const savebar = document.getElementById("savebar");
let style = null;
let justAdded = null;

// --- errors next to their fields -------------------------------------------------------------------------

function clearErrors(scope) {
  for (const element of scope.querySelectorAll("[data-error-for]")) element.textContent = "";
  for (const element of scope.querySelectorAll(".invalid")) element.classList.remove("invalid");
}

function showFieldErrors(scope, error) {
  const fields = error.fields.length ? error.fields : error.field ? [{ field: error.field, message: error.message }] : [];
  let shown = false;
  for (const { field, message } of fields) {
    // "jewelry.rules[0].kind" is shown under the rules table; "look.shadow_strength" under its input.
    const base = field.replace(/\[\d+\].*$/, "");
    const slot = scope.querySelector(`[data-error-for="${field}"]`) || scope.querySelector(`[data-error-for="${base}"]`);
    const input = scope.querySelector(`[name="${field}"]`);
    if (input) input.classList.add("invalid");
    if (slot) {
      slot.textContent = message;
      shown = true;
    }
  }
  if (!shown) showError(error);
  else toast("Some values need a look", { error: true });
}

// --- plates ----------------------------------------------------------------------------------------------

function capabilities(plate) {
  const carries = h("p", { class: "small subdued" }, "Carries: ", plate.kinds.map((k) => KIND_LABELS[k] || k).join(", "));
  if (!plate.capabilities) return carries;
  const can = plate.capabilities.filter((c) => c.ok);
  const cannot = plate.capabilities.filter((c) => !c.ok);
  return h("div", { class: "caps-box" }, carries,
    h("ul", { class: "caps", "aria-label": "What this photo can carry" },
      plate.capabilities.map((cap) => h("li", { dataset: { kind: cap.kind, ok: String(cap.ok) }, title: cap.message },
        h("span", { class: cap.ok ? "yes" : "no", "aria-hidden": "true" }, cap.ok ? "✓" : "✗"),
        h("span", { class: "kind" }, KIND_LABELS[cap.kind] || cap.kind, h("span", { class: "visually-hidden" }, cap.ok ? ": yes" : ": no")),
        cap.ok ? null : h("span", { class: "reason" }, cap.message)))),
    can.length === 0 ? h("p", { class: "check fail small" }, "This photo cannot carry any kind") : null,
    cannot.length === 0 ? h("p", { class: "check pass small" }, "Every kind fits this photo") : null);
}

async function movePlate(plate, action) {
  await attempt(async () => {
    const answer = await api(`/api/style/plates/${encodeURIComponent(plate.id)}/${action}`, {
      method: "POST",
      json: { base_version: style.version_id },
    });
    const words = { retire: "retired", restore: "restored", approve: "approved", reject: "rejected" };
    toast(`${plate.model} ${words[action]}`);
    render(answer.style);
  });
}

function plateCard(plate) {
  const actions = h("div", { class: "actions" });
  if (plate.status === "approved") actions.append(button("Retire", () => movePlate(plate, "retire"), { tone: "critical" }));
  if (plate.status === "retired") actions.append(button("Restore", () => movePlate(plate, "restore")));
  if (plate.status === "pending") {
    actions.append(button("Approve", () => movePlate(plate, "approve"), { variant: "primary" }),
      button("Reject", () => movePlate(plate, "reject"), { tone: "critical" }));
  }
  return h("article", { class: `plate ${plate.status}${plate.id === justAdded ? " just-added" : ""}`, dataset: { plateId: plate.id, status: plate.status } },
    plate.thumb_url ? h("img", { src: plate.thumb_url, alt: `${plate.model}, model photo`, loading: "lazy", width: 220, height: 275 }) : h("img", { alt: "" }),
    h("div", { class: "body" },
      h("div", { class: "name" }, h("strong", {}, plate.model), plate.status === "approved" ? null : badge(plate.status)),
      capabilities(plate),
      actions));
}

function kindChecks(container, name, selected) {
  container.replaceChildren(...style.kinds.map((kind) => h("label", {},
    h("input", { type: "checkbox", name, value: kind, checked: selected.includes(kind) }), KIND_LABELS[kind] || kind)));
}

// --- settings form ---------------------------------------------------------------------------------------

function ruleRow(rule = { field: "product_type", equals: "", kind: "necklace" }) {
  const test = rule.contains !== undefined && rule.contains !== null ? "contains" : "equals";
  const select = (name, options, value) => h("select", { "data-rule": name, "aria-label": name },
    Object.entries(options).map(([key, label]) => h("option", { value: key, selected: key === value }, label)));
  const kinds = Object.fromEntries([...style.kinds.map((k) => [k, KIND_LABELS[k] || k]), ["none", "Not jewelry"]]);
  const row = h("tr", {},
    h("td", {}, select("field", RULE_FIELDS, rule.field)),
    h("td", {}, select("test", { equals: "is", contains: "contains" }, test)),
    h("td", {}, h("input", { "data-rule": "value", value: rule[test] || "", "aria-label": "value", maxlength: 255 })),
    h("td", {}, select("kind", kinds, rule.kind)),
    h("td", { class: "actions" }, button("Remove", () => {
      row.remove();
      dirty();
    }, { variant: "tertiary" })));
  return row;
}

function fill(settings) {
  for (const section of ["look", "output", "approval", "write_back"]) {
    for (const [key, value] of Object.entries(settings[section])) {
      const input = form.elements.namedItem(`${section}.${key}`);
      if (!input) continue;
      if (input.type === "checkbox") input.checked = Boolean(value);
      else input.value = value;
    }
  }
  const position = form.elements.namedItem("write_back.position");
  if (typeof settings.write_back.position === "number") {
    const value = String(settings.write_back.position);
    if (![...position.options].some((o) => o.value === value)) position.append(h("option", { value }, `Position ${value + 1}`));
    position.value = value;
  }
  kindChecks(document.getElementById("jewelry-kinds"), "jewelry.kinds", settings.jewelry.kinds);
  document.querySelector("#rules tbody").replaceChildren(...settings.jewelry.rules.map(ruleRow));
  outputs();
  altExample();
}

function collect() {
  const value = (name) => form.elements.namedItem(name);
  const number = (name) => Number(value(name).value);
  const position = value("write_back.position").value;
  return {
    look: {
      shadow_strength: number("look.shadow_strength"),
      ambient_occlusion: number("look.ambient_occlusion"),
      light_match: number("look.light_match"),
      refine: value("look.refine").checked,
    },
    output: {
      width: number("output.width"),
      height: number("output.height"),
      format: value("output.format").value,
      quality: number("output.quality"),
      allow_upscale: value("output.allow_upscale").checked,
    },
    approval: {
      auto_approve: value("approval.auto_approve").checked,
      draft_ttl_days: number("approval.draft_ttl_days"),
    },
    write_back: {
      position: /^\d+$/.test(position) ? Number(position) : position,
      replace: value("write_back.replace").value,
      alt_template: value("write_back.alt_template").value,
    },
    jewelry: {
      kinds: [...form.querySelectorAll('[name="jewelry.kinds"]:checked')].map((input) => input.value),
      rules: [...document.querySelectorAll("#rules tbody tr")].map((row) => {
        const get = (name) => row.querySelector(`[data-rule="${name}"]`).value;
        return { field: get("field"), [get("test")]: get("value"), kind: get("kind") };
      }),
    },
  };
}

function outputs() {
  for (const output of form.querySelectorAll("output")) {
    output.textContent = Number(form.elements.namedItem(output.htmlFor.value).value).toFixed(2);
  }
}

function altExample() {
  const template = form.elements.namedItem("write_back.alt_template").value;
  const sample = { title: "Aurora pendant necklace", model: "Grace", kind: "necklace", shop: "Your shop", plate: "grace" };
  document.getElementById("alt-example").textContent = template.replace(/\{(\w+)\}/g, (whole, name) => sample[name] ?? whole);
}

function dirty() {
  savebar.hidden = false;
}

form.addEventListener("input", (event) => {
  if (event.target.closest("#preview")) return; // choosing what to preview changes no setting
  if (event.target.type === "range") outputs();
  if (event.target.name === "write_back.alt_template") altExample();
  dirty();
});
form.addEventListener("change", (event) => {
  if (!event.target.closest("#preview")) dirty();
});
form.addEventListener("submit", (event) => event.preventDefault());

document.getElementById("add-rule").addEventListener("click", () => {
  document.querySelector("#rules tbody").append(ruleRow());
  dirty();
});
document.getElementById("discard").addEventListener("click", () => {
  clearErrors(form);
  fill(style.settings);
  savebar.hidden = true;
});
document.getElementById("save").addEventListener("click", async () => {
  clearErrors(form);
  try {
    const answer = await api("/api/style", { method: "PATCH", json: { base_version: style.version_id, ...collect() } });
    render(answer.style);
    savebar.hidden = true;
    toast(answer.result.code === "changed" ? `Saved as version ${answer.result.version_id}` : "Nothing changed");
    versions.reload();
  } catch (error) {
    if (error instanceof ApiError && error.status === 400) showFieldErrors(form, error);
    else showError(error);
  }
});

// --- upload ----------------------------------------------------------------------------------------------

const upload = document.getElementById("plate-upload");
const photo = document.getElementById("plate-photo");
photo.addEventListener("change", () => {
  document.getElementById("plate-photo-name").textContent = photo.files[0] ? photo.files[0].name : "Choose a photo…";
});
document.getElementById("plate-submit").addEventListener("click", async () => {
  clearErrors(upload);
  const data = new FormData(upload);
  data.set("base_version", String(style.version_id));
  try {
    const answer = await api("/api/style/plates", { method: "POST", form: data });
    if (answer.result.code === "changed") {
      const known = new Set(style.plates.map((p) => p.id));
      const added = answer.style.plates.find((p) => !known.has(p.id));
      justAdded = added ? added.id : null;
      toast(`${added ? added.model : "Model"} added`);
      upload.reset();
      document.getElementById("plate-photo-name").textContent = "Choose a photo…";
    } else {
      toast(answer.result.detail || "This photo is already a model");
    }
    render(answer.style);
    versions.reload();
    const card = justAdded && document.querySelector(`[data-plate-id="${CSS.escape(justAdded)}"]`);
    if (card) card.scrollIntoView({ block: "nearest", behavior: "smooth" });
  } catch (error) {
    if (error instanceof ApiError && error.status === 400) showFieldErrors(upload, error);
    else showError(error);
  }
});

// --- preview --------------------------------------------------------------------------------------------

const previewGrid = document.getElementById("preview-grid");
const previewStatus = document.getElementById("preview-status");

function previewCard(image) {
  const q = image.quality;
  const numbers = [];
  if (q.ssim !== null) numbers.push(`SSIM ${q.ssim.toFixed(3)} · ΔE ${q.delta_e.toFixed(1)}`);
  if (q.achieved_mm !== null) numbers.push(`${q.achieved_mm >= 100 ? `${(q.achieved_mm / 10).toFixed(1)} cm` : `${q.achieved_mm.toFixed(1)} mm`}`);
  return h("article", { class: "preview-card", dataset: { plateId: image.plate_id, offered: String(image.offered) } },
    image.url ? h("img", { src: image.url, alt: `Preview on ${image.model}`, width: 256, height: 320 })
      : h("div", { class: "no-image" }, h("strong", {}, "Not offered"), image.reason),
    h("div", { class: "body" }, h("strong", {}, image.model), numbers.length ? h("span", { class: "subdued" }, numbers.join(" · ")) : null));
}

async function loadPreviewProducts() {
  const select = document.getElementById("preview-product");
  const page = await api("/api/products?limit=50");
  select.replaceChildren(...(page.items.length
    ? page.items.map((p) => h("option", { value: p.product_id }, `${p.title} (${KIND_LABELS[p.kind] || p.kind})`))
    : [h("option", { value: "" }, "No jewelry products yet")]));
  select.removeAttribute("aria-busy");
}

document.getElementById("preview-run").addEventListener("click", async () => {
  const productId = Number(document.getElementById("preview-product").value);
  if (!productId) return;
  const run = document.getElementById("preview-run");
  run.setAttribute("loading", "");
  previewStatus.textContent = "Rendering on each model…";
  clearErrors(form);
  try {
    const answer = await api("/api/style/preview", { method: "POST", json: { product_id: productId, look: collect().look } });
    previewGrid.replaceChildren(...answer.images.map(previewCard));
    previewStatus.textContent = "";
  } catch (error) {
    previewStatus.textContent = "";
    if (error instanceof ApiError && error.status === 400) showFieldErrors(form, error);
    else showError(error);
  } finally {
    run.removeAttribute("loading");
  }
});

// --- page ------------------------------------------------------------------------------------------------

function render(data) {
  style = data;
  document.getElementById("style-version").textContent = `Version ${data.version_id}`;
  const roster = data.plates.filter((p) => p.status !== "pending");
  const pending = data.plates.filter((p) => p.status === "pending");
  const list = document.getElementById("plate-list");
  list.replaceChildren(...roster.map(plateCard));
  list.removeAttribute("aria-busy");
  document.getElementById("pending").hidden = pending.length === 0;
  document.getElementById("pending-list").replaceChildren(...pending.map(plateCard));
  if (!document.getElementById("plate-kinds").children.length) {
    kindChecks(document.getElementById("plate-kinds"), "kinds", []);
  }
  if (savebar.hidden) fill(data.settings);
}

const versions = paginate(document.getElementById("versions"), document.getElementById("versions-more"), "/api/style/versions",
  (v) => h("li", { class: v.current ? "current" : "", dataset: { versionId: v.id } },
    h("strong", {}, `Version ${v.id}`), h("span", { class: "subdued" }, ago(v.created_at)),
    v.current ? h("s-badge", { tone: "info" }, "Current") : null,
    h("code", { title: "content hash" }, v.content_hash)),
  { params: { limit: 10 } });

attempt(async () => {
  render(await api("/api/style"));
  await Promise.all([versions.reload(), loadPreviewProducts()]);
  if (location.hash) document.querySelector(location.hash)?.scrollIntoView();
});
