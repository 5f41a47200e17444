// par dashboard: follows /api/events and draws the snapshot it sends.
// Every text that comes from the cluster is set with textContent: error
// texts and names are untrusted and must never become markup.
"use strict";

(function () {
  const SVGNS = "http://www.w3.org/2000/svg";

  function $(sel) { return document.querySelector(sel); }

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function row(cells, cls) {
    const tr = el("tr", null, cls);
    for (const c of cells) {
      if (c instanceof Node) {
        const td = el("td");
        td.appendChild(c);
        tr.appendChild(td);
      } else if (c && typeof c === "object") {
        tr.appendChild(el("td", c.text, c.cls));
      } else {
        tr.appendChild(el("td", c));
      }
    }
    return tr;
  }

  function fill(tbody, rows, empty, cols) {
    tbody.replaceChildren();
    if (rows.length === 0) {
      const td = el("td", empty, "muted");
      td.colSpan = cols;
      const tr = el("tr");
      tr.appendChild(td);
      tbody.appendChild(tr);
      return;
    }
    for (const r of rows) tbody.appendChild(r);
  }

  function num(n) { return { text: Number(n).toLocaleString("en"), cls: "num" }; }

  function ago(ms) {
    if (ms < 1000) return "now";
    const s = Math.round(ms / 1000);
    if (s < 120) return s + "s ago";
    return Math.round(s / 60) + "m ago";
  }

  function dur(ms) {
    if (ms < 0) return "—";
    const s = Math.round(ms / 1000);
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m" + String(s % 60).padStart(2, "0") + "s";
    return Math.floor(s / 3600) + "h" + String(Math.floor(s / 60) % 60).padStart(2, "0") + "m";
  }

  function clock(t) {
    const d = new Date(t);
    return isNaN(d) ? "" : d.toLocaleTimeString();
  }

  function workers(s) {
    const rows = s.workers.map(function (w) {
      const tr = row([w.id, w.host, w.queue, num(w.cores), num(w.running_jobs || 0), w.busy + " / " + w.slots, num(w.jobs),
        num(w.failed), ago(w.age_ms), { text: w.last_error, cls: "error" }], w.stale ? "worker stale" : "worker");
      tr.dataset.worker = w.id;
      return tr;
    });
    const live = s.workers.filter(function (w) { return !w.stale; }).length;
    $("#workercount").textContent = live + " live" + (live < s.workers.length ? ", " + (s.workers.length - live) + " silent" : "");
    fill($("#workers tbody"), rows, "no worker", 10);
  }

  function bar(r) {
    const total = r.total >= 0 ? Math.max(r.total, r.submitted) : r.submitted;
    const b = el("div", null, "bar");
    const parts = [["done", r.done], ["failed", r.failed], ["pending", Math.max(0, total - r.done - r.failed)]];
    for (const p of parts) {
      const s = el("span", null, p[0]);
      s.style.width = (total > 0 ? (100 * p[1] / total) : 0) + "%";
      s.title = p[1] + " " + p[0];
      b.appendChild(s);
    }
    const pct = total > 0 ? Math.floor(100 * (r.done + r.failed) / total) : 0;
    const wrap = el("div");
    wrap.appendChild(b);
    const label = el("span", pct + "%", "pct");
    if (r.total < 0 && r.state === "running") label.textContent += " of submitted";
    wrap.appendChild(label);
    return wrap;
  }

  function runs(s) {
    const rows = s.runs.map(function (r) {
      const name = r.name ? r.name + " (" + r.id + ")" : r.id;
      const tr = row([name, r.tasks.join(", "), r.host || "—", bar(r), num(r.done), num(r.failed), num(r.pending),
        r.rate.toFixed(1) + "/s", dur(r.eta_ms), r.state + (r.partial ? " (partial)" : "")], "run " + r.state);
      tr.dataset.run = r.id;
      return tr;
    });
    fill($("#runs tbody"), rows, "no run seen yet", 10);
  }

  function queues(s) {
    fill($("#queues tbody"), s.queues.map(function (q) {
      return row([q.name, num(q.pending), num(q.in_flight), num(q.redelivered), num(q.waiting), num(q.workers)]);
    }), "no queue", 6);
  }

  function failures(s) {
    fill($("#failures tbody"), s.failures.map(function (f) {
      const tr = row([clock(f.time), f.run, f.task, num(f.index), f.worker, f.kind, { text: f.error, cls: "error" }], "failure");
      return tr;
    }), "no failure", 7);
  }

  function chart(s) {
    const svg = $("#chart");
    const W = 600, H = 140, pad = 4;
    const pts = s.rate;
    let top = 1;
    for (const p of pts) top = Math.max(top, p.done + p.failed);
    const x = function (i) { return pts.length > 1 ? (i * W / (pts.length - 1)) : 0; };
    const y = function (v) { return H - pad - (v / top) * (H - 2 * pad); };
    const line = function (f) {
      return pts.map(function (p, i) { return x(i).toFixed(1) + "," + y(f(p)).toFixed(1); }).join(" ");
    };
    const kids = [];
    for (const g of [0.25, 0.5, 0.75]) {
      const l = document.createElementNS(SVGNS, "line");
      l.setAttribute("class", "grid");
      l.setAttribute("x1", "0"); l.setAttribute("x2", String(W));
      l.setAttribute("y1", String(y(top * g))); l.setAttribute("y2", String(y(top * g)));
      kids.push(l);
    }
    for (const [cls, f] of [["done", function (p) { return p.done; }], ["failed", function (p) { return p.failed; }]]) {
      const pl = document.createElementNS(SVGNS, "polyline");
      pl.setAttribute("class", cls);
      pl.setAttribute("points", line(f));
      kids.push(pl);
    }
    svg.replaceChildren.apply(svg, kids);
    $("#chartmax").textContent = "  top " + top.toLocaleString("en") + " jobs/s";
  }

  function render(s) {
    if (s.error) {
      $("#problems").replaceChildren(el("li", s.error));
      return;
    }
    $("#totals").textContent = s.totals.submitted.toLocaleString("en") + " submitted, " +
      s.totals.done.toLocaleString("en") + " done, " + s.totals.failed.toLocaleString("en") + " failed since " + clock(s.since);
    $("#problems").replaceChildren.apply($("#problems"), s.problems.map(function (p) { return el("li", p); }));
    workers(s);
    runs(s);
    queues(s);
    failures(s);
    chart(s);
  }

  function connect() {
    const conn = $("#conn");
    const es = new EventSource("api/events");
    es.onopen = function () { conn.textContent = "live"; conn.className = "conn on"; };
    es.onerror = function () { conn.textContent = "reconnecting…"; conn.className = "conn off"; };
    es.onmessage = function (ev) {
      try {
        render(JSON.parse(ev.data));
        document.body.dataset.updated = String(Date.now());
      } catch (e) {
        conn.textContent = "bad update";
        conn.className = "conn off";
      }
    };
  }

  connect();
})();
