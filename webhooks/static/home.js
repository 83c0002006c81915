// Home: counts per state, what needs attention, and the products whose drafts await review.
import { ago, api, attempt, badge, button, h, paginate, toast } from "./worn.js";

const KIND_LABELS = { necklace: "Necklace", pendant: "Pendant", earrings: "Earrings", ring: "Ring", bracelet: "Bracelet", anklet: "Anklet" };
const REASONS = {
  no_plate: "No model photo can carry this kind yet",
  no_photo: "The product has no photo to work from",
  cutout_failed: "The piece could not be cut out of its photo",
};

function productLink(id) {
  return `/app/products/${id}`;
}

function queueItem(item) {
  const label = `${item.awaiting} draft${item.awaiting === 1 ? "" : "s"} to review`;
  return h("a", { class: "queue-item", href: productLink(item.product_id), "data-nav": true, dataset: { productId: item.product_id } },
    item.source.thumb_url
      ? h("img", { class: "source", src: item.source.thumb_url, alt: item.source.alt || `${item.title}: your photo`, loading: "lazy", width: 88, height: 88 })
      : h("div", { class: "source" }),
    h("div", {},
      h("div", { class: "title" }, item.title),
      h("div", { class: "meta" },
        item.kind ? h("s-badge", {}, KIND_LABELS[item.kind] || item.kind) : null,
        h("span", {}, label),
        h("span", {}, "·"),
        h("span", {}, ago(item.newest_at))),
      h("div", { class: "strip" },
        item.drafts.map((draft) => h("img", { src: draft.thumb_url, alt: "", loading: "lazy", width: 52, height: 64 })))),
    h("div", { class: "go" }, h("span", { class: "link-button primary" }, "Review")));
}

function emptyQueue() {
  return h("div", { class: "empty" },
    h("strong", {}, "All caught up"),
    "New jewelry products get drafts within seconds of being saved. They will appear here.");
}

function failedJob(job) {
  const retry = button("Retry", async () => {
    await attempt(async () => {
      const answer = await api(`/api/jobs/${job.id}/retry`, { method: "POST" });
      toast(answer.result.code === "queued" ? "Render queued again" : "Already queued");
      retry.replaceWith(badge("queued"));
    });
  });
  return h("li", { dataset: { jobId: job.id } },
    h("div", { class: "what" },
      h("h3", {}, h("a", { href: productLink(job.product_id), "data-nav": true }, job.product_title), " · render failed"),
      h("div", { class: "why", title: job.last_error || "" }, job.last_error || "No reason was recorded")),
    h("span", { class: "subdued small" }, ago(job.finished_at || job.created_at)),
    retry);
}

function failedWriteBack(wb) {
  const retry = button("Retry", async () => {
    await attempt(async () => {
      await api(`/api/write-backs/${wb.id}/retry`, { method: "POST" });
      toast("Sent to your store again");
      retry.replaceWith(badge("queued"));
    });
  });
  return h("li", { dataset: { writeBackId: wb.id } },
    h("div", { class: "what" },
      h("h3", {}, h("a", { href: productLink(wb.product_id), "data-nav": true }, wb.product_title), " · could not be added to the product"),
      h("div", { class: "why", title: wb.last_error || "" }, wb.last_error || "No reason was recorded")),
    h("span", { class: "subdued small" }, ago(wb.updated_at)),
    retry);
}

function skipped(product) {
  return h("li", { dataset: { productId: product.product_id } },
    h("div", { class: "what" },
      h("h3", {}, h("a", { href: productLink(product.product_id), "data-nav": true }, product.title), " · skipped"),
      h("div", { class: "why" }, product.detail || REASONS[product.decision] || product.decision)),
    product.kind ? h("s-badge", {}, KIND_LABELS[product.kind] || product.kind) : null);
}

async function attention() {
  const section = document.getElementById("attention");
  const failedBox = document.getElementById("attention-failed");
  const skippedBox = document.getElementById("attention-skipped");
  const lists = [
    ["/api/jobs", { state: "failed", limit: 5 }, failedJob, "Failed renders", failedBox],
    ["/api/write-backs", { state: "failed", limit: 5 }, failedWriteBack, "Not added to your store", failedBox],
    ["/api/products/skipped", { limit: 5 }, skipped, "Skipped products", skippedBox],
  ];
  for (const [path, params, render, title, box] of lists) {
    const list = h("ul", { class: "attention-list" });
    const more = h("div");
    const group = h("div", { hidden: true }, h("h3", { class: "sublist-title" }, title), list, more);
    box.append(group);
    await paginate(list, more, path, render, {
      params,
      onPage: (page, first) => {
        if (first && page.items.length) {
          group.hidden = false;
          section.hidden = false;
        }
      },
    }).reload();
  }
}

async function overview() {
  const data = await api("/api/overview");
  for (const [key, value] of Object.entries(data.counts)) {
    const card = document.getElementById(`stat-${key}`);
    if (!card) continue;
    card.querySelector("[data-count]").textContent = value.toLocaleString();
    card.classList.toggle("has-any", value > 0);
  }
  document.getElementById("auto-approve-note").hidden = !data.style.auto_approve;
}

attempt(async () => {
  await overview();
  const queue = document.getElementById("queue-list");
  const more = h("div");
  queue.after(more);
  await paginate(queue, more, "/api/review-queue", queueItem, { params: { limit: 10 }, empty: emptyQueue }).reload();
  await attention();
});
