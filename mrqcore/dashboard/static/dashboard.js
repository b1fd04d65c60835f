// mrqc dashboard: every page reads the JSON API (/api/...) and refreshes itself.
// Data only ever reaches the page as text (textContent, attributes set one by one):
// nothing from a job (params, result, traceback, names) is parsed as HTML.
"use strict";

(function () {
  const body = document.body;
  const page = body.dataset.page;
  const refreshMs = parseInt(body.dataset.refreshMs || "2000", 10);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;

  // --- helpers ---------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = String(value);
      else if (name === "onclick") node.addEventListener("click", value);
      else node.setAttribute(name, String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  async function api(path) {
    const response = await fetch("/api" + path, {credentials: "same-origin", headers: {"Accept": "application/json"}});
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || response.statusText);
    return data;
  }

  async function act(path, payload, question) {
    if (question && !window.confirm(question)) return null;
    const response = await fetch("/api" + path, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf, "Accept": "application/json"},
      body: JSON.stringify(payload || {}),
    });
    const data = await response.json().catch(() => ({}));
    flash(response.ok ? describe(path, data) : "failed: " + (data.error || response.statusText), !response.ok);
    await refresh();
    return response.ok ? data : null;
  }

  function describe(path, data) {
    if (data.requeued) return `requeued ${data.requeued.length}, skipped ${data.skipped.length}`;
    if (data.cancelled) return `cancelled ${data.cancelled.length}, cancel requested ${data.cancel_requested.length}, skipped ${data.skipped.length}`;
    if (data.queue !== undefined) return `queue ${data.queue} ${data.paused ? "paused" : "resumed"}`;
    if (data.previous_status) return `${path.split("/").pop()}: done (was ${data.previous_status})`;
    return "done";
  }

  function flash(message, isError) {
    const box = document.getElementById("flash");
    box.textContent = message;
    box.className = "flash" + (isError ? " error" : "");
    box.hidden = false;
  }

  function date(seconds) {
    if (seconds === null || seconds === undefined || seconds === "") return "";
    return new Date(seconds * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
  }

  function ago(seconds) {
    if (!seconds) return "";
    const s = Math.max(0, Date.now() / 1000 - seconds);
    return s < 120 ? `${s.toFixed(1)}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
  }

  function statusBadge(status, labels) {
    const span = el("span", {"class": "status s-" + (status || "unknown"), text: status || "?"});
    const out = el("span", {"class": "status-cell"}, span);
    for (const [name, label] of Object.entries(labels || {})) {
      out.append(" ", el("span", {"class": "label", title: name + " state", text: label}));
    }
    return out;
  }

  function pretty(value) {
    if (value === undefined || value === null) return "";
    return typeof value === "string" ? value : JSON.stringify(value, null, 2);
  }

  function fill(tbody, rows) {
    tbody.replaceChildren(...rows);
  }

  // Re-render only what changed: a button under the mouse survives a refresh that brought nothing new.
  const seen = {};
  function changed(name, data) {
    const key = JSON.stringify(data);
    if (seen[name] === key) return false;
    seen[name] = key;
    return true;
  }

  function jobLink(id) {
    return el("a", {href: "/jobs/" + encodeURIComponent(id), "class": "job-link", text: id});
  }

  function queueRows(queues) {
    return queues.map((q) => el("tr", {"data-queue": q.name},
      el("td", {}, el("a", {href: "/jobs?queue=" + encodeURIComponent(q.name), text: q.name})),
      el("td", {"class": "num", text: q.size}),
      el("td", {text: q.kind || "jobs"}),
      el("td", {"class": q.paused ? "paused" : "", text: q.paused ? "paused" : "active"}),
      el("td", {}, q.paused
        ? el("button", {"class": "resume", type: "button", text: "Resume",
            onclick: () => act(`/queues/${encodeURIComponent(q.name)}/resume`, {}, `Resume queue ${q.name}?`)})
        : el("button", {"class": "pause", type: "button", text: "Pause",
            onclick: () => act(`/queues/${encodeURIComponent(q.name)}/pause`, {}, `Pause queue ${q.name}? Workers stop taking its jobs.`)}))));
  }

  // --- pages -----------------------------------------------------------------------

  const pages = {};

  pages.overview = async function () {
    const data = await api("/overview");
    if (!changed("overview", {...data, now: 0})) return;
    const cards = Object.entries(data.counts).map(([status, n]) => el("a",
      {"class": "card", href: "/jobs?status=" + status, id: "count-" + status},
      el("span", {"class": "n", text: n}), statusBadge(status, data.labels[status])));
    document.getElementById("counts").replaceChildren(...cards);
    drawChart(document.getElementById("throughput"), data.throughput);
    fill(document.querySelector("#queues-table tbody"), queueRows(data.queues));
    document.getElementById("workers-summary").textContent =
      `${data.workers.alive} alive, ${data.workers.lost} lost · ${data.total} jobs indexed`;
  };

  function drawChart(box, t) {
    const ns = "http://www.w3.org/2000/svg";
    const series = ["queued", "success", "failed"];
    const max = Math.max(1, ...series.flatMap((s) => t[s]));
    const w = 720, h = 120, bw = w / t.minutes.length;
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", `0 0 ${w} ${h + 14}`);
    svg.setAttribute("class", "chart-svg");
    t.minutes.forEach((minute, i) => {
      series.forEach((name, k) => {
        const v = t[name][i];
        if (!v) return;
        const r = document.createElementNS(ns, "rect");
        const bh = Math.max(1, (v / max) * h);
        r.setAttribute("x", i * bw + k * (bw / 3));
        r.setAttribute("y", h - bh);
        r.setAttribute("width", bw / 3);
        r.setAttribute("height", bh);
        r.setAttribute("class", "bar " + name);
        const title = document.createElementNS(ns, "title");
        title.textContent = `${date(minute)}: ${v} ${name}`;
        r.append(title);
        svg.append(r);
      });
    });
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", 0);
    label.setAttribute("y", h + 12);
    label.setAttribute("class", "axis");
    label.textContent = `peak ${max}/min · ${date(t.minutes[0])} → now`;
    svg.append(label);
    box.replaceChildren(svg);
  }

  pages.queues = async function () {
    const data = await api("/queues");
    if (!changed("queues", data)) return;
    fill(document.querySelector("#queues-table tbody"), queueRows(data.queues));
    document.getElementById("scheduled-summary").textContent =
      `${data.scheduled}${data.scheduled_capped ? "+" : ""} jobs waiting for a time (retry delay, countdown, ETA)` +
      (data.paused.length ? ` · paused: ${data.paused.join(", ")}` : "");
  };

  pages.workers = async function () {
    const data = await api("/workers");
    if (!changed("workers", data)) return;
    fill(document.querySelector("#workers-table tbody"), data.workers.map((w) => el("tr", {"data-worker": w.id},
      el("td", {}, el("a", {href: "/jobs?worker=" + encodeURIComponent(w.id), text: w.id}),
        el("div", {"class": "sub", text: `${w.host || ""} pid ${w.pid || "?"}`})),
      el("td", {"class": w.alive ? "alive" : "lost", text: w.alive ? (w.status || "alive") : "lost"}),
      el("td", {text: ago(w.last_heartbeat)}),
      el("td", {text: (w.queues || []).join(", ")}),
      el("td", {"class": "num", text: `${w.inflight} / ${w.greenlets ?? "?"}`}),
      el("td", {"class": "num", text: w.rss_mb ? `${w.rss_mb.toFixed(0)} MB` : ""}),
      el("td", {"class": "num", text: w.jobs_done ?? ""}),
      el("td", {}, ...w.current_jobs.map((j) => el("div", {"class": "current"},
        jobLink(j.id), " ", el("span", {"class": "sub", text: j.path || ""}), " ",
        el("progress", {max: 1, value: j.progress || 0}),
        el("span", {"class": "sub", text: j.progress !== undefined ? ` ${Math.round(j.progress * 100)}%` : ""})))))));
  };

  const filterNames = ["status", "queue", "path", "exceptiontype", "worker", "id", "text"];
  let cursor = 0;

  function currentFilters() {
    const out = {};
    for (const name of filterNames) {
      const value = document.getElementById("filter-" + name).value.trim();
      if (value) out[name] = value;
    }
    return out;
  }

  pages.jobs = async function () {
    const query = new URLSearchParams(currentFilters());
    query.set("cursor", cursor);
    const data = await api("/jobs?" + query.toString());
    if (!changed("jobs", [data, cursor])) return;
    fill(document.querySelector("#jobs-table tbody"), data.jobs.map((j) => el("tr", {"data-job": j.id},
      el("td", {}, jobLink(j.id)),
      el("td", {text: j.path || ""}),
      el("td", {text: j.queue || ""}),
      el("td", {}, statusBadge(j.status, j.labels)),
      el("td", {text: j.exceptiontype || ""}),
      el("td", {"class": "sub", text: j.worker || ""}),
      el("td", {"class": "num", text: j.retry_count || 0}),
      el("td", {text: date(j.dateupdated)}))));
    const next = document.getElementById("page-next");
    next.disabled = data.next_cursor === null;
    next.dataset.cursor = data.next_cursor === null ? "" : data.next_cursor;
    document.getElementById("page-info").textContent =
      `${data.jobs.length} shown, searched from position ${cursor}` +
      (data.next_cursor === null ? " to the end" : ` to ${data.next_cursor}: Next page searches on`);
  };

  function setupJobs() {
    const params = new URLSearchParams(window.location.search);
    for (const name of filterNames) {
      if (params.get(name)) document.getElementById("filter-" + name).value = params.get(name);
    }
    document.getElementById("filters").addEventListener("submit", (event) => {
      event.preventDefault();
      cursor = 0;
      history.replaceState(null, "", "/jobs?" + new URLSearchParams(currentFilters()).toString());
      refresh();
    });
    document.getElementById("page-next").addEventListener("click", (event) => {
      if (event.target.dataset.cursor !== "") { cursor = parseInt(event.target.dataset.cursor, 10); refresh(); }
    });
    document.getElementById("page-first").addEventListener("click", () => { cursor = 0; refresh(); });
    for (const what of ["requeue", "cancel"]) {
      document.getElementById("bulk-" + what).addEventListener("click", () => {
        const filters = currentFilters();
        const text = Object.entries(filters).map(([k, v]) => `${k}=${v}`).join(", ") || "no filter";
        act("/jobs/" + what, filters, `${what} EVERY job matching ${text}?`);
      });
    }
  }

  pages.job = async function () {
    const id = body.dataset.jobId;
    const data = await api("/jobs/" + encodeURIComponent(id));
    if (!changed("job", data)) return;
    const job = data.job;
    const summary = [["status", statusBadge(job.status, data.labels)], ["task", job.path], ["queue", job.queue],
      ["worker", job.worker], ["exception", job.exceptiontype], ["retries", job.retry_count || 0],
      ["progress", job.progress !== undefined ? `${Math.round(job.progress * 100)}%` : ""],
      ["queued", date(job.datequeued)], ["started", date(job.datestarted)], ["updated", date(job.dateupdated)],
      ["done", date(job.datedone)],
      ["run time", job.datedone && job.datestarted ? `${(job.datedone - job.datestarted).toFixed(3)}s` : ""]];
    fill(document.querySelector("#job-summary tbody"), summary.map(([k, v]) =>
      el("tr", {}, el("th", {text: k}), el("td", {"id": "field-" + k.replace(" ", "-")}, v ?? ""))));
    document.getElementById("params").textContent = pretty(job.params);
    document.getElementById("result").textContent = pretty(job.result);
    document.getElementById("traceback").textContent = job.traceback || "";
    const history = document.getElementById("history");
    const entries = [...(Array.isArray(job.traceback_history) ? job.traceback_history : []).map((h) => ["retry", h]),
                     ...(Array.isArray(job.requeue_history) ? job.requeue_history : []).map((h) => ["requeue", h])];
    history.replaceChildren(...(entries.length ? entries.map(([kind, h]) => el("details", {},
      el("summary", {text: `${kind} · ${date(h.date)} · ${h.from_status || h.status || h.exceptiontype || ""} ${h.note || ""}`}),
      el("pre", {text: pretty(h.traceback || h)}))) : [el("p", {"class": "sub", text: "none"})]));
    document.getElementById("log-lines").textContent = (data.log_lines || []).join("\n");
    const relations = document.getElementById("relations");
    relations.replaceChildren(
      el("p", {}, "parent: ", data.parent_id ? jobLink(data.parent_id) : "none"),
      el("p", {}, "children: ", ...(data.children.length ? data.children.flatMap((c) => [jobLink(c), " "]) : ["none"])));
    document.getElementById("run-line").textContent = data.run_line;
  };

  function setupJob() {
    const id = body.dataset.jobId;
    document.getElementById("requeue").addEventListener("click", () =>
      act(`/jobs/${encodeURIComponent(id)}/requeue`, {}, `Requeue job ${id}?`));
    document.getElementById("cancel").addEventListener("click", () =>
      act(`/jobs/${encodeURIComponent(id)}/cancel`, {}, `Cancel job ${id}?`));
  }

  pages.failures = async function () {
    const data = await api("/failures");
    if (!changed("failures", data)) return;
    document.getElementById("failures-sample").textContent = `(latest ${data.sample} of each failure status)`;
    fill(document.querySelector("#failures-table tbody"), data.groups.map((g) => el("tr", {},
      el("td", {text: g.path}), el("td", {text: g.exceptiontype}),
      el("td", {}, statusBadge(g.status, g.labels)), el("td", {"class": "num", text: g.count}),
      el("td", {}, jobLink(g.last_id), el("div", {"class": "sub", text: date(g.last_date)})),
      el("td", {}, el("a", {href: "/jobs?" + new URLSearchParams({status: g.status, path: g.path,
        exceptiontype: g.exceptiontype}).toString(), text: "jobs"})))));
  };

  pages.schedule = async function () {
    const data = await api("/schedule");
    if (!changed("schedule", data)) return;
    fill(document.querySelector("#schedule-table tbody"), data.entries.map((e) => el("tr", {},
      el("td", {text: e.id}), el("td", {text: e.path}), el("td", {text: e.queue || "default"}),
      el("td", {text: e.timing}), el("td", {text: date(e.last_due)}),
      el("td", {}, jobLink(e.last_job_id), " ", e.last_status ? statusBadge(e.last_status, {}) : el("span", {"class": "sub", text: "not queued"})),
      el("td", {text: date(e.next_run)}))));
  };

  // --- live refresh ----------------------------------------------------------------

  let busy = false;
  async function refresh() {
    if (busy || !pages[page]) return;
    busy = true;
    const live = document.getElementById("live");
    try {
      await pages[page]();
      live.className = "live ok";
      live.dataset.updated = String(Date.now());
    } catch (error) {
      live.className = "live error";
      live.title = String(error.message || error);
    } finally {
      busy = false;
    }
  }

  if (page === "jobs") setupJobs();
  if (page === "job") setupJob();
  refresh();
  setInterval(refresh, refreshMs);
})();
