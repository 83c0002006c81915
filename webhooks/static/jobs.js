// Jobs: render jobs and write-backs, newest first, with retry for failed ones and re-render per product.
import { ago, api, attempt, badge, button, h, paginate, toast } from "./worn.js";

const TRIGGERS = { webhook: "Product saved", reconcile: "Catch-up", backfill: "Catalog import", manual: "You asked" };

function productCell(row) {
  return h("td", {}, h("a", { href: `/app/products/${row.product_id}`, "data-nav": true }, row.product_title));
}

function renderRow(job) {
  const actions = h("td", { class: "actions" });
  if (job.state === "failed") {
    actions.append(button("Retry", async () => {
      await attempt(async () => {
        const answer = await api(`/api/jobs/${job.id}/retry`, { method: "POST" });
        toast(answer.result.code === "queued" ? `Job ${job.id} queued again` : "Already queued");
        row.replaceWith(renderRow({ ...job, state: "queued", attempts: 0 }));
      });
    }));
  }
  actions.append(button("Render again", async () => {
    await attempt(async () => {
      const answer = await api(`/api/products/${job.product_id}/rerender`, { method: "POST" });
      toast(answer.result.code === "queued" ? "Rendering again on every model" : "Already rendering");
      await lists.renders.reload();
    });
  }, { variant: "tertiary" }));
  const why = job.plates ? `${TRIGGERS[job.trigger] || job.trigger} · ${job.plates.join(", ")}` : TRIGGERS[job.trigger] || job.trigger;
  const row = h("tr", { dataset: { jobId: job.id, state: job.state } },
    h("td", { class: "num" }, `#${job.id}`),
    productCell(job),
    h("td", {}, badge(job.state),
      job.state === "failed" && job.last_error ? h("div", { class: "error-text small" }, job.last_error) : null),
    h("td", {}, why),
    h("td", { class: "num" }, job.drafts),
    h("td", { title: job.created_at }, ago(job.created_at)),
    actions);
  return row;
}

function writeBackRow(wb) {
  const actions = h("td", { class: "actions" });
  if (wb.state === "failed") {
    actions.append(button("Retry", async () => {
      await attempt(async () => {
        await api(`/api/write-backs/${wb.id}/retry`, { method: "POST" });
        toast("Sent to your store again");
        row.replaceWith(writeBackRow({ ...wb, state: "queued" }));
      });
    }));
  }
  const row = h("tr", { dataset: { writeBackId: wb.id, state: wb.state } },
    h("td", { class: "num" }, `#${wb.id}`),
    productCell(wb),
    h("td", {}, badge(wb.state), wb.state === "failed" && wb.last_error ? h("div", { class: "error-text small" }, wb.last_error) : null),
    h("td", { class: "num" }, wb.attempts),
    h("td", { title: wb.updated_at }, ago(wb.updated_at)),
    actions);
  return row;
}

function emptyRow(columns, text) {
  return () => h("tr", {}, h("td", { colspan: columns, class: "empty" }, text));
}

const lists = {};

function show(filter) {
  for (const tab of document.querySelectorAll(".tabs [role=tab]")) {
    tab.setAttribute("aria-selected", String(tab.dataset.state === filter));
  }
  const params = { state: filter, limit: 20 };
  lists.renders = paginate(document.querySelector("#render-jobs tbody"), document.getElementById("render-jobs-more"),
    "/api/jobs", renderRow, { params, empty: emptyRow(7, "No render jobs here.") });
  lists.writeBacks = paginate(document.querySelector("#write-backs tbody"), document.getElementById("write-backs-more"),
    "/api/write-backs", writeBackRow, { params, empty: emptyRow(6, "No write-backs here.") });
  return attempt(() => Promise.all([lists.renders.reload(), lists.writeBacks.reload()]));
}

for (const tab of document.querySelectorAll(".tabs [role=tab]")) {
  tab.addEventListener("click", () => {
    const url = new URL(location.href);
    url.searchParams.set("state", tab.dataset.state);
    history.replaceState(history.state, "", url.toString());
    show(tab.dataset.state);
  });
}

const initial = new URLSearchParams(location.search).get("state");
show(["all", "active", "failed", "done"].includes(initial) ? initial : "all");
