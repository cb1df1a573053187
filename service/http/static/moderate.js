/* loibinh moderators' dashboard: built only on the public moderation API.
   The API key stays in sessionStorage (this tab, until it closes), never in a URL. */
(function () {
  "use strict";
  var S = {
    vi: {
      title: "Kiểm duyệt bình luận", site: "Trang (site)", key: "Khóa API", signIn: "Đăng nhập",
      signOut: "Đăng xuất", badKey: "Khóa API không hợp lệ hoặc đã bị thu hồi.", forbidden: "Khóa này không có quyền cho việc này.",
      pending: "Chờ duyệt", reported: "Bị báo cáo", approved: "Đã duyệt", rejected: "Đã từ chối", spam: "Spam", audit: "Nhật ký",
      claim: "Nhận một lô", claimed: "Đã nhận {n} bình luận đến {until}.", reason: "Lý do (không bắt buộc)",
      approve: "Duyệt", reject: "Từ chối", markSpam: "Spam", ban: "Cấm tác giả", banDone: "Đã cấm {email}.",
      banAsk: "Cấm tác giả {email}?", selectAll: "Chọn tất cả", select: "Chọn",
      empty: "Không có bình luận nào ở đây.", more: "Xem thêm", score: "Điểm", reasons: "Lý do tự động",
      lease: "Đang được giữ bởi {who} đến {until}", reports: "Báo cáo", thread: "Bài",
      done: "Đã lưu {n} quyết định.", conflict: "{id}: {detail}", error: "Lỗi: {detail}", unreachable: "Không kết nối được máy chủ.",
      help: "Phím tắt: j/k di chuyển, x chọn, a duyệt, r từ chối, s spam, b cấm tác giả.", lang: "English",
      at: "Thời điểm", who: "Người kiểm duyệt", action: "Hành động", comment: "Bình luận", why: "Lý do",
      loading: "Đang tải…", order: "Sắp xếp", oldest: "Cũ nhất", newest: "Mới nhất",
      abusive: "Dễ vi phạm nhất", clean: "Sạch nhất", model: "Mô hình", approveShown: "Duyệt {n} bình luận mô hình cho là sạch"
    },
    en: {
      title: "Comment moderation", site: "Site", key: "API key", signIn: "Sign in",
      signOut: "Sign out", badKey: "This API key is not valid or was revoked.", forbidden: "This key may not do that.",
      pending: "Pending", reported: "Reported", approved: "Approved", rejected: "Rejected", spam: "Spam", audit: "Audit",
      claim: "Claim a batch", claimed: "Claimed {n} comments until {until}.", reason: "Reason (optional)",
      approve: "Approve", reject: "Reject", markSpam: "Spam", ban: "Ban author", banDone: "{email} is banned.",
      banAsk: "Ban the author {email}?", selectAll: "Select all", select: "Select",
      empty: "Nothing here.", more: "More", score: "Score", reasons: "Automatic reasons",
      lease: "Held by {who} until {until}", reports: "Reports", thread: "Thread",
      done: "Decisions saved: {n}.", conflict: "{id}: {detail}", error: "Error: {detail}", unreachable: "Could not reach the server.",
      help: "Shortcuts: j/k move, x select, a approve, r reject, s spam, b ban the author.", lang: "Tiếng Việt",
      at: "When", who: "Moderator", action: "Action", comment: "Comment", why: "Reason",
      loading: "Loading…", order: "Order", oldest: "Oldest", newest: "Newest",
      abusive: "Most likely abusive", clean: "Most likely clean", model: "Model", approveShown: "Approve the {n} the model finds clean"
    }
  };
  var STATES = ["pending", "reported", "approved", "rejected", "spam"];
  var ACTIONS = { a: "approve", r: "reject", s: "spam" };
  var store = window.sessionStorage;
  var app = document.getElementById("app");
  var lang = store.getItem("lb-lang") || ((navigator.language || "").slice(0, 2) === "vi" ? "vi" : "en");
  var t = S[lang];
  var state = { tab: "pending", order: "oldest", items: [], current: 0, next: null, counts: {}, holdAt: null };
  var ui = {};

  function h(tag, props) {
    var el = document.createElement(tag);
    for (var k in props || {}) {
      if (k === "text") el.textContent = props[k];
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), props[k]);
      else if (props[k] !== null && props[k] !== false) el.setAttribute(k, props[k] === true ? "" : props[k]);
    }
    for (var i = 2; i < arguments.length; i++) if (arguments[i] != null) el.append(arguments[i]);
    return el;
  }
  function fmt(s, v) { return s.replace(/\{(\w+)\}/g, function (_, k) { return v[k]; }); }
  function when(iso) { return iso ? new Date(iso).toLocaleString(lang === "vi" ? "vi-VN" : "en-GB") : ""; }
  function say(text, bad) {
    ui.msg.textContent = text;
    ui.msg.className = bad ? "msg bad" : "msg";
  }

  async function api(method, path, body) {
    var r;
    try {
      r = await fetch("/v1/sites/" + encodeURIComponent(store.getItem("lb-site")) + "/moderation" + path, {
        method: method, body: body ? JSON.stringify(body) : undefined,
        headers: Object.assign({ Authorization: "Bearer " + store.getItem("lb-key") },
          body ? { "Content-Type": "application/json" } : {})
      });
    } catch (e) {
      throw new Error(t.unreachable);
    }
    var data = await r.json().catch(function () { return {}; });
    if (r.status === 401) { signOut(t.badKey); throw new Error(t.badKey); }
    if (r.status === 403) throw new Error(t.forbidden + " " + (data.detail || ""));
    if (!r.ok) throw new Error(fmt(t.error, { detail: data.detail || r.status }));
    return data;
  }

  function signOut(message) {
    store.removeItem("lb-key");
    signInView(message);
  }

  function signInView(message) {
    var site = h("input", { id: "site", list: "sites", required: true, autocomplete: "off",
      value: store.getItem("lb-site") || (document.querySelector("#sites option") || {}).value || "" });
    var key = h("input", { id: "key", type: "password", required: true, autocomplete: "off" });
    var err = h("p", { class: "msg bad", role: "alert", text: message || "" });
    var form = h("form", { class: "signin", onsubmit: async function (e) {
        e.preventDefault();
        store.setItem("lb-site", site.value.trim());
        store.setItem("lb-key", key.value.trim());
        try {
          await api("GET", "/queue?limit=1");
        } catch (x) {
          store.removeItem("lb-key");
          err.textContent = x.message;
          key.focus();
          return;
        }
        mainView();
      } },
      h("h1", { text: t.title }),
      h("p", {}, h("label", { for: "site", text: t.site }), site),
      h("p", {}, h("label", { for: "key", text: t.key }), key),
      err, h("button", { type: "submit", text: t.signIn }), langButton());
    app.replaceChildren(form);
    (site.value ? key : site).focus();
  }

  function langButton() {
    return h("button", { type: "button", class: "link", lang: lang === "vi" ? "en" : "vi", text: t.lang,
      onclick: function () {
        store.setItem("lb-lang", lang === "vi" ? "en" : "vi");
        location.reload();
      } });
  }

  function mainView() {
    document.documentElement.lang = lang;
    ui.tabs = h("div", { role: "tablist", class: "tabs", "aria-label": t.title });
    STATES.concat(["audit"]).forEach(function (s) {
      ui.tabs.append(h("button", { role: "tab", id: "tab-" + s, "data-tab": s, "aria-controls": "panel",
        onclick: function () { show(s); } }));
    });
    ui.tabs.addEventListener("keydown", function (e) {
      var tabs = Array.from(ui.tabs.children), i = tabs.indexOf(document.activeElement);
      if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
        var n = tabs[(i + (e.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
        n.focus();
        n.click();
      }
    });
    ui.msg = h("p", { class: "msg", role: "status", "aria-live": "polite" });
    ui.reason = h("input", { id: "reason", placeholder: t.reason, "aria-label": t.reason, maxlength: 500 });
    ui.all = h("input", { type: "checkbox", id: "all", onchange: function () {
      state.items.forEach(function (it) { it.box.checked = ui.all.checked; });
    } });
    ui.claim = h("button", { type: "button", id: "claim", text: t.claim, onclick: claim });
    // The learned model's order: the clean end can be approved in one action.
    ui.order = h("select", { id: "order", "aria-label": t.order, onchange: function () {
      state.order = ui.order.value; load(false);
    } });
    ["oldest", "newest", "abusive", "clean"].forEach(function (o) {
      ui.order.append(h("option", { value: o, text: t[o], selected: o === state.order }));
    });
    ui.approveShown = h("button", { type: "button", id: "approve-shown", hidden: true, onclick: function () {
      state.items.forEach(function (it) { it.box.checked = false; });
      decide("approve", cleanEnd());
    } });
    ui.tools = h("div", { class: "tools" },
      h("label", { class: "inline" }, ui.all, " " + t.selectAll), ui.claim, ui.order, ui.approveShown, ui.reason,
      h("button", { type: "button", "data-action": "approve", text: t.approve + " (a)", onclick: function () { decide("approve"); } }),
      h("button", { type: "button", "data-action": "reject", text: t.reject + " (r)", onclick: function () { decide("reject"); } }),
      h("button", { type: "button", "data-action": "spam", text: t.markSpam + " (s)", onclick: function () { decide("spam"); } }));
    ui.list = h("ol", { class: "items" });
    ui.more = h("button", { type: "button", class: "more", hidden: true, text: t.more, onclick: function () { load(true); } });
    ui.panel = h("section", { id: "panel", role: "tabpanel" }, ui.tools, ui.list, ui.more);
    app.replaceChildren(
      h("header", {}, h("h1", { text: t.title }), h("span", { class: "site", text: store.getItem("lb-site") }),
        langButton(), h("button", { type: "button", class: "link", text: t.signOut, onclick: function () { signOut(""); } })),
      h("p", { class: "help", text: t.help }), ui.tabs, ui.msg, ui.panel);
    show("pending");
  }

  function paintTabs() {
    Array.from(ui.tabs.children).forEach(function (b) {
      var s = b.getAttribute("data-tab");
      b.textContent = t[s] + (s in state.counts ? " (" + state.counts[s] + ")" : "");
      b.setAttribute("aria-selected", String(s === state.tab));
      b.tabIndex = s === state.tab ? 0 : -1;
    });
  }

  function show(tab) {
    state.tab = tab;
    paintTabs();
    ui.tools.hidden = tab === "audit";
    ui.claim.hidden = tab !== "pending" && tab !== "reported";
    load(false);
  }

  async function load(more) {
    if (!more) { state.items = []; ui.list.replaceChildren(); state.current = 0; ui.all.checked = false; }
    ui.panel.setAttribute("aria-busy", "true");
    try {
      if (state.tab === "audit") await loadAudit(more);
      else {
        var page = await api("GET", "/queue?limit=50&state=" + state.tab + "&order=" + state.order +
          (more && state.next ? "&after=" + state.next : ""));
        state.counts = page.counts;
        state.next = page.next;
        state.holdAt = page.model_hold_at;
        page.items.forEach(addItem);
        paintTabs();
      }
    } catch (e) {
      say(e.message, true);
    }
    ui.panel.removeAttribute("aria-busy");
    ui.more.hidden = !state.next;
    if (!ui.list.children.length) ui.list.append(h("li", { class: "empty", text: t.empty }));
    paintApproveShown();
    focusItem(state.current, false);
  }

  // The shown comments the model finds clean: below the site's threshold.
  function cleanEnd() {
    return state.items.filter(function (it) {
      return state.holdAt !== null && it.model !== null && it.model < state.holdAt;
    });
  }

  function paintApproveShown() {
    var open = state.tab === "pending" || state.tab === "reported", n = cleanEnd().length;
    ui.approveShown.hidden = !(open && state.order === "clean" && n);
    ui.approveShown.textContent = fmt(t.approveShown, { n: n });
  }

  async function loadAudit(more) {
    var page = await api("GET", "/audit?limit=50" + (more && state.next ? "&before=" + state.next : ""));
    state.next = page.next;
    if (!more) ui.list.append(h("li", { class: "row head" }, h("span", { text: t.at }), h("span", { text: t.who }),
      h("span", { text: t.action }), h("span", { text: t.comment }), h("span", { text: t.why })));
    page.entries.forEach(function (e) {
      ui.list.append(h("li", { class: "row" }, h("span", { text: when(e.at) }), h("span", { text: e.moderator }),
        h("span", { text: e.action }), h("span", { text: e.comment || "" }), h("span", { text: e.reason })));
    });
  }

  function addItem(it) {
    var empty = ui.list.querySelector(".empty");
    if (empty) empty.remove();
    it.box = h("input", { type: "checkbox", "aria-label": t.select + " " + it.author.name });
    var body = h("div", { class: "body", text: it.body });
    var meta = h("dl", { class: "meta" },
      h("dt", { text: t.score }), h("dd", { class: it.score >= 3 ? "score high" : "score", text: String(it.score) }),
      h("dt", { text: t.reasons }), h("dd", { text: it.reasons.join(", ") || "–" }),
      it.model === null ? null : h("dt", { text: t.model }),
      it.model === null ? null : h("dd", { class: "model", text: Math.round(it.model * 100) + " %" }),
      h("dt", { text: t.thread }), h("dd", { text: it.thread }),
      it.reports ? h("dt", { text: t.reports }) : null, it.reports ? h("dd", { text: String(it.reports) }) : null);
    it.el = h("li", { class: "item", tabindex: "-1", id: "i-" + it.id, "data-id": it.id,
        onclick: function (e) { if (e.target === it.el || e.target === body) focusItem(state.items.indexOf(it), true); } },
      h("div", { class: "head" }, it.box, h("b", { text: it.author.name }), h("span", { class: "email", text: it.author.email }),
        h("time", { datetime: it.created_at, text: when(it.created_at) })),
      body, meta,
      it.lease ? h("p", { class: "lease", text: fmt(t.lease, { who: it.lease.key_id, until: when(it.lease.until) }) }) : null,
      h("div", { class: "acts" },
        ["approve", "reject", "spam"].map(function (a) {
          return h("button", { type: "button", "data-action": a, text: t[a === "spam" ? "markSpam" : a],
            onclick: function () { decide(a, [it]); } });
        }).concat([h("button", { type: "button", class: "ban", text: t.ban, onclick: function () { ban(it); } })])
          .reduce(function (f, b) { f.append(b, " "); return f; }, document.createDocumentFragment())));
    state.items.push(it);
    ui.list.append(it.el);
  }

  function focusItem(i, move) {
    if (!state.items.length) return;
    state.current = Math.max(0, Math.min(i, state.items.length - 1));
    state.items.forEach(function (it, j) { it.el.classList.toggle("current", j === state.current); });
    if (move) state.items[state.current].el.focus();
  }

  function chosen() {
    var picked = state.items.filter(function (it) { return it.box.checked; });
    return picked.length ? picked : state.items.slice(state.current, state.current + 1);
  }

  async function decide(action, items) {
    items = items || chosen();
    if (!items.length || state.tab === "audit") return;
    var reason = ui.reason.value.trim();
    try {
      var res = await api("POST", "/decisions", { decisions: items.map(function (it) {
        return { id: it.id, action: action, reason: reason };
      }) });
    } catch (e) {
      say(e.message, true);
      return;
    }
    var failed = res.results.filter(function (r) { return r.status !== 200; });
    say(fmt(t.done, { n: res.results.length - failed.length }) + " " +
      failed.map(function (r) { return fmt(t.conflict, { id: r.id, detail: r.detail }); }).join(" "), failed.length > 0);
    var gone = {};
    var target = { approve: "approved", reject: "rejected", spam: "spam" }[action];
    res.results.forEach(function (r) { if (r.status === 200 && state.tab !== target) gone[r.id] = 1; });
    var at = state.current;
    state.items = state.items.filter(function (it) {
      if (gone[it.id]) { it.el.remove(); return false; }
      return true;
    });
    ui.reason.value = "";
    ui.all.checked = false;
    try {
      state.counts = (await api("GET", "/queue?limit=1&state=" + state.tab)).counts;
      paintTabs();
    } catch (e) { /* the counts refresh on the next load */ }
    if (!state.items.length) ui.list.replaceChildren(h("li", { class: "empty", text: t.empty }));
    paintApproveShown();
    focusItem(at, true);
  }

  async function claim() {
    try {
      var res = await api("POST", "/claims", { limit: 10, lease_seconds: 300, state: state.tab });
    } catch (e) {
      say(e.message, true);
      return;
    }
    say(fmt(t.claimed, { n: res.items.length, until: when(res.lease_until) }));
    state.items = [];
    state.current = 0;
    ui.list.replaceChildren();
    res.items.forEach(addItem);
    if (!res.items.length) ui.list.append(h("li", { class: "empty", text: t.empty }));
    state.next = null;
    ui.more.hidden = true;
    focusItem(0, true);
  }

  async function ban(it) {
    if (!window.confirm(fmt(t.banAsk, { email: it.author.email }))) return;
    try {
      await api("POST", "/bans", { email: it.author.email, reason: ui.reason.value.trim() });
      say(fmt(t.banDone, { email: it.author.email }));
    } catch (e) {
      say(e.message, true);
    }
  }

  document.addEventListener("keydown", function (e) {
    if (!ui.list || !document.body.contains(ui.list) || e.ctrlKey || e.metaKey || e.altKey) return;
    if (/^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName) && e.target.type !== "checkbox") return;
    var it = state.items[state.current];
    var on = it && document.activeElement === it.el;
    if (e.key === "j") focusItem(on ? state.current + 1 : state.current, true);
    else if (e.key === "k") focusItem(state.current - 1, true);
    else if (e.key === "x" && it) it.box.checked = !it.box.checked;
    else if (e.key === "b" && it) ban(it);
    else if (ACTIONS[e.key]) decide(ACTIONS[e.key]);
    else return;
    e.preventDefault();
  });

  if (store.getItem("lb-key")) mainView();
  else signInView("");
})();
