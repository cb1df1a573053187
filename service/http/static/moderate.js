/* loibinh moderators' dashboard: built only on the public moderation API.
   The API key stays in sessionStorage (this tab, until it closes), never in a URL. */
(function () {
  "use strict";
  var S = {
    vi: {
      title: "Kiểm duyệt bình luận", site: "Trang (site)", key: "Khóa API", signIn: "Đăng nhập",
      signOut: "Đăng xuất", badKey: "Khóa API không hợp lệ hoặc đã bị thu hồi.", forbidden: "Khóa này không có quyền cho việc này.",
      pending: "Chờ duyệt", reported: "Bị báo cáo", approved: "Đã duyệt", rejected: "Đã từ chối", spam: "Spam", audit: "Nhật ký",
      bans: "Lệnh cấm", webhooks: "Webhook lỗi", overview: "Tổng quan", erasure: "Xóa dữ liệu",
      claim: "Nhận một lô", claimed: "Đã nhận {n} bình luận đến {until}.", reason: "Lý do (không bắt buộc)",
      canned: "Lý do có sẵn", cannedNone: "— Lý do có sẵn —",
      approve: "Duyệt", reject: "Từ chối", markSpam: "Spam", trust: "Duyệt và tin tưởng tác giả",
      rejectAuthor: "Từ chối mọi bình luận của tác giả", takeDown: "Gỡ mọi bình luận của tác giả",
      ban: "Cấm…", banEmail: "Cấm email {email}", banAddress: "Cấm địa chỉ mạng của bình luận này",
      banDo: "Cấm", banDone: "Đã cấm.", duration: "Thời hạn", forever: "Vĩnh viễn",
      day: "1 ngày", week: "7 ngày", month: "30 ngày", year: "1 năm",
      selectAll: "Chọn tất cả", select: "Chọn",
      empty: "Không có gì ở đây.", more: "Xem thêm", score: "Điểm", reasons: "Lý do tự động",
      lease: "Đang được giữ bởi {who} đến {until}", reports: "Báo cáo", thread: "Bài", openArticle: "Mở bài viết",
      done: "Đã lưu {n} quyết định.", conflict: "{id}: {detail}", error: "Lỗi: {detail}", unreachable: "Không kết nối được máy chủ.",
      help: "Phím tắt: j/k di chuyển, x chọn, a duyệt, r từ chối, s spam.", lang: "English",
      at: "Thời điểm", who: "Người kiểm duyệt", action: "Hành động", comment: "Bình luận", why: "Lý do",
      loading: "Đang tải…", order: "Sắp xếp", oldest: "Cũ nhất", newest: "Mới nhất",
      abusive: "Dễ vi phạm nhất", clean: "Sạch nhất", model: "Mô hình", approveShown: "Duyệt {n} bình luận mô hình cho là sạch",
      banKind: "Đối tượng", kindEmail: "Email", kindIp: "Địa chỉ mạng của bình luận", until: "Hết hạn", by: "Người cấm",
      lift: "Gỡ lệnh cấm", lifted: "Đã gỡ lệnh cấm.", liftAsk: "Gỡ lệnh cấm này?", newBan: "Cấm một email",
      email: "Email", created: "Ngày cấm",
      eraseIntro: "Xóa mọi bình luận và mọi dữ liệu cá nhân của một địa chỉ email trên trang này. Không thể hoàn tác.",
      eraseConfirm: "Tôi hiểu việc này không thể hoàn tác", eraseDo: "Xóa dữ liệu", erased: "Đã xóa {n} bình luận của {email}.",
      event: "Sự kiện", target: "Đích", attempts: "Số lần thử", lastError: "Lỗi cuối", diedAt: "Bỏ cuộc lúc",
      requeue: "Gửi lại", requeueSel: "Gửi lại các mục đã chọn", requeueAll: "Gửi lại tất cả ({n})",
      requeued: "Đã xếp lại {n} lần gửi.", deadTotal: "{n} lần gửi thất bại đang được giữ.",
      days: "Bình luận được quyết định mỗi ngày", decisionTime: "Thời gian đến khi quyết định",
      median: "Trung vị", p90: "90% trong vòng", decided: "Số quyết định", throughput: "Quyết định theo người kiểm duyệt",
      topReasons: "Lý do dùng nhiều nhất", noData: "Chưa có dữ liệu.", period: "Khoảng thời gian", lastDays: "{n} ngày qua",
      partial: "Khoảng này có quá nhiều mục: những ngày đầu được đếm thiếu.", table: "Xem số liệu",
      date: "Ngày", count: "Số lần",
      actions: { claim: "Nhận", approve: "Duyệt", "approve-and-trust": "Duyệt và tin tưởng", reject: "Từ chối", spam: "Spam",
        ban: "Cấm", unban: "Gỡ cấm", erasure: "Xóa dữ liệu", "model-reset": "Đặt lại mô hình", "model-freeze": "Dừng học",
        "model-thaw": "Học lại", "model-exclude": "Loại khóa khỏi việc học", "model-include": "Đưa khóa vào việc học" },
      outcomes: { approved: "Đã duyệt", rejected: "Đã từ chối", spam: "Spam" },
      units: { s: "{n} giây", m: "{n} phút", h: "{n} giờ", d: "{n} ngày" }
    },
    en: {
      title: "Comment moderation", site: "Site", key: "API key", signIn: "Sign in",
      signOut: "Sign out", badKey: "This API key is not valid or was revoked.", forbidden: "This key may not do that.",
      pending: "Pending", reported: "Reported", approved: "Approved", rejected: "Rejected", spam: "Spam", audit: "Audit",
      bans: "Bans", webhooks: "Failed webhooks", overview: "Overview", erasure: "Erasure",
      claim: "Claim a batch", claimed: "Claimed {n} comments until {until}.", reason: "Reason (optional)",
      canned: "Canned reasons", cannedNone: "— Canned reasons —",
      approve: "Approve", reject: "Reject", markSpam: "Spam", trust: "Approve and trust the author",
      rejectAuthor: "Reject everything by the author", takeDown: "Take down everything by the author",
      ban: "Ban…", banEmail: "Ban the email {email}", banAddress: "Ban the network address of this comment",
      banDo: "Ban", banDone: "Banned.", duration: "For", forever: "For ever",
      day: "1 day", week: "7 days", month: "30 days", year: "1 year",
      selectAll: "Select all", select: "Select",
      empty: "Nothing here.", more: "More", score: "Score", reasons: "Automatic reasons",
      lease: "Held by {who} until {until}", reports: "Reports", thread: "Thread", openArticle: "Open the article",
      done: "Decisions saved: {n}.", conflict: "{id}: {detail}", error: "Error: {detail}", unreachable: "Could not reach the server.",
      help: "Shortcuts: j/k move, x select, a approve, r reject, s spam.", lang: "Tiếng Việt",
      at: "When", who: "Moderator", action: "Action", comment: "Comment", why: "Reason",
      loading: "Loading…", order: "Order", oldest: "Oldest", newest: "Newest",
      abusive: "Most likely abusive", clean: "Most likely clean", model: "Model", approveShown: "Approve the {n} the model finds clean",
      banKind: "Who", kindEmail: "Email", kindIp: "Network address of comment", until: "Ends", by: "Banned by",
      lift: "Lift the ban", lifted: "The ban is lifted.", liftAsk: "Lift this ban?", newBan: "Ban an email",
      email: "Email", created: "Banned on",
      eraseIntro: "Remove every comment and all personal data of an email address on this site. This cannot be undone.",
      eraseConfirm: "I understand this cannot be undone", eraseDo: "Erase", erased: "Erased {n} comments of {email}.",
      event: "Event", target: "Target", attempts: "Attempts", lastError: "Last error", diedAt: "Given up",
      requeue: "Requeue", requeueSel: "Requeue the selected", requeueAll: "Requeue all ({n})",
      requeued: "Requeued {n} deliveries.", deadTotal: "{n} failed deliveries are kept.",
      days: "Comments decided per day", decisionTime: "Time to decision",
      median: "Median", p90: "90% within", decided: "Decisions", throughput: "Decisions per moderator",
      topReasons: "Reasons given most", noData: "No data yet.", period: "Period", lastDays: "Last {n} days",
      partial: "This period holds too many entries: its first days are undercounted.", table: "Show the figures",
      date: "Day", count: "Count",
      actions: { claim: "Claimed", approve: "Approved", "approve-and-trust": "Approved and trusted", reject: "Rejected", spam: "Spam",
        ban: "Banned", unban: "Ban lifted", erasure: "Erasure", "model-reset": "Model reset", "model-freeze": "Learning frozen",
        "model-thaw": "Learning thawed", "model-exclude": "Key excluded from learning", "model-include": "Key included in learning" },
      outcomes: { approved: "Approved", rejected: "Rejected", spam: "Spam" },
      units: { s: "{n} s", m: "{n} min", h: "{n} h", d: "{n} days" }
    }
  };
  var STATES = ["pending", "reported", "approved", "rejected", "spam"];
  var ADMIN_TABS = ["bans", "audit", "webhooks", "overview", "erasure"];
  var OPEN = { pending: 1, reported: 1 };
  var KEYS = { a: "approve", r: "reject", s: "spam" };
  var DURATIONS = [["week", 7 * 86400], ["day", 86400], ["month", 30 * 86400], ["year", 365 * 86400], ["forever", null]];
  var store = window.sessionStorage;
  var app = document.getElementById("app");
  var lang = store.getItem("lb-lang") || ((navigator.language || "").slice(0, 2) === "vi" ? "vi" : "en");
  var t = S[lang];
  // One way of writing a time everywhere: the browser's, in the dashboard's language.
  var clock = new Intl.DateTimeFormat(lang === "vi" ? "vi-VN" : "en-GB", { dateStyle: "medium", timeStyle: "short" });
  var number = new Intl.NumberFormat(lang === "vi" ? "vi-VN" : "en-GB");
  var state = { tab: "pending", order: "oldest", items: [], current: 0, next: null, counts: {}, holdAt: null,
    site: null, admin: false, days: 14 };
  var ui = {};
  var uid = 0;

  function h(tag, props) {
    var el = document.createElement(tag);
    for (var k in props || {}) {
      if (k === "text") el.textContent = props[k];
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), props[k]);
      else if (props[k] !== null && props[k] !== false && props[k] !== undefined) el.setAttribute(k, props[k] === true ? "" : props[k]);
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (Array.isArray(c)) c.forEach(function (x) { if (x != null) el.append(x); });
      else if (c != null) el.append(c);
    }
    return el;
  }
  function svg(tag, props) {
    var el = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (var k in props || {}) el.setAttribute(k, props[k]);
    for (var i = 2; i < arguments.length; i++) if (arguments[i] != null) el.append(arguments[i]);
    return el;
  }
  function fmt(s, v) { return s.replace(/\{(\w+)\}/g, function (_, k) { return v[k]; }); }
  function when(iso) { return iso ? clock.format(new Date(iso)) : ""; }
  function time(iso) { return h("time", { datetime: iso, text: when(iso) }); }
  // Ids are long: the end tells them apart, the whole is in the tooltip (and copied whole).
  function shortId(id) { return id ? h("code", { class: "id", title: id, text: "…" + id.slice(-6) }) : ""; }
  function say(text, bad) {
    ui.msg.textContent = text;
    ui.msg.className = bad ? "msg bad" : "msg";
  }
  function articleUrl(thread) {
    var tpl = state.site && state.site.thread_url;
    return tpl ? tpl.split("{thread}").join(encodeURIComponent(thread)) : null;
  }
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    var u = seconds < 90 ? ["s", seconds] : seconds < 5400 ? ["m", seconds / 60] : seconds < 129600 ? ["h", seconds / 3600] : ["d", seconds / 86400];
    return fmt(t.units[u[0]], { n: number.format(Math.round(u[1] * 10) / 10) });
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
    var err;
    if (r.status === 403) err = new Error(t.forbidden + " " + (data.detail || ""));
    else if (!r.ok) err = new Error(fmt(t.error, { detail: data.detail || r.status }));
    if (err) { err.status = r.status; throw err; }
    return data;
  }

  function signOut(message) {
    store.removeItem("lb-key");
    signInView(message);
  }

  // Which sites this deployment serves is not shown: the moderator knows theirs.
  function signInView(message) {
    var site = h("input", { id: "site", required: true, autocomplete: "off", autocapitalize: "none",
      spellcheck: "false", value: store.getItem("lb-site") || "" });
    var key = h("input", { id: "key", type: "password", required: true, autocomplete: "off" });
    var err = h("p", { class: "msg bad", role: "alert", text: message || "" });
    var form = h("form", { class: "signin", onsubmit: async function (e) {
        e.preventDefault();
        store.setItem("lb-site", site.value.trim());
        store.setItem("lb-key", key.value.trim());
        try {
          await start();
        } catch (x) {
          store.removeItem("lb-key");
          err.textContent = x.message;
          key.focus();
        }
      } },
      h("h1", { text: t.title }),
      h("p", {}, h("label", { for: "site", text: t.site }), site),
      h("p", {}, h("label", { for: "key", text: t.key }), key),
      err, h("p", { class: "row-buttons" }, h("button", { type: "submit", text: t.signIn }), langButton()));
    app.replaceChildren(h("main", {}, form));
    (site.value ? key : site).focus();
  }

  // What the site needs shown (article links, canned reasons), and whether the key is an admin's.
  async function start() {
    state.site = await api("GET", "/site");
    try {
      await api("GET", "/bans");
      state.admin = true;
    } catch (e) {
      if (e.status !== 403) throw e;
      state.admin = false;
    }
    mainView();
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
    STATES.concat(state.admin ? ADMIN_TABS : []).forEach(function (s) {
      ui.tabs.append(h("button", { role: "tab", id: "tab-" + s, type: "button", "data-tab": s, "aria-controls": "panel",
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
    ui.reasonId = "reason";
    ui.reason = h("input", { id: "reason", placeholder: t.reason, "aria-label": t.reason, maxlength: 500 });
    ui.canned = cannedSelect(ui.reason);
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
    ui.bulk = ["approve", "reject", "spam"].map(function (a) {
      return h("button", { type: "button", "data-action": a, "aria-keyshortcuts": a[0], onclick: function () { decide(a); } },
        t[a === "spam" ? "markSpam" : a], h("kbd", { class: "key", "aria-hidden": "true", text: a[0] }));
    });
    ui.tools = h("div", { class: "tools" },
      h("label", { class: "inline" }, ui.all, " " + t.selectAll), ui.claim, ui.order, ui.approveShown,
      h("div", { class: "why" }, ui.canned, ui.reason), h("div", { class: "bulk" }, ui.bulk));
    ui.list = h("ol", { class: "items" });
    ui.more = h("button", { type: "button", class: "more", hidden: true, text: t.more, onclick: function () { load(true); } });
    ui.extra = h("div", { class: "extra" });
    ui.panel = h("section", { id: "panel", role: "tabpanel", "aria-labelledby": "tab-pending" }, ui.tools, ui.extra, ui.list, ui.more);
    app.replaceChildren(
      h("header", {}, h("h1", { text: t.title }), h("span", { class: "site", text: store.getItem("lb-site") }),
        h("span", { class: "grow" }), langButton(),
        h("button", { type: "button", class: "link", text: t.signOut, onclick: function () { signOut(""); } })),
      h("nav", { class: "tabbar" }, ui.tabs),
      h("main", {}, h("p", { class: "help", text: t.help }), ui.msg, ui.panel));
    show("pending");
  }

  function cannedSelect(input) {
    var reasons = (state.site && state.site.reasons) || [];
    if (!reasons.length) return null;
    var id = "canned-" + (++uid);
    var sel = h("select", { id: id, class: "canned", "aria-label": t.canned, onchange: function () {
      if (sel.value) input.value = sel.value;
      sel.value = "";
      input.focus();
    } }, h("option", { value: "", text: t.cannedNone }));
    reasons.forEach(function (r) { sel.append(h("option", { value: r, text: r })); });
    return sel;
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
    var selected = document.getElementById("tab-" + tab);
    if (selected) {
      ui.panel.setAttribute("aria-labelledby", selected.id);
      selected.scrollIntoView({ block: "nearest", inline: "nearest" });
    }
    var queue = STATES.indexOf(tab) >= 0;
    ui.tools.hidden = !queue;
    ui.claim.hidden = !OPEN[tab];
    ui.order.hidden = !queue;
    // Approved comments can only be taken down (per author), and rejected or
    // spam ones stay as they are: their tabs offer no decision in bulk.
    ui.bulk.forEach(function (b) { b.hidden = !OPEN[tab]; });
    ui.all.parentNode.hidden = !OPEN[tab];
    ui.tools.querySelector(".why").hidden = !OPEN[tab];
    say("");
    load(false);
  }

  async function load(more) {
    if (!more) {
      state.items = []; state.next = null; ui.list.replaceChildren(); ui.extra.replaceChildren();
      state.current = 0; ui.all.checked = false;
    }
    ui.panel.setAttribute("aria-busy", "true");
    try {
      if (state.tab === "audit") await loadAudit(more);
      else if (state.tab === "bans") await loadBans();
      else if (state.tab === "webhooks") await loadDead(more);
      else if (state.tab === "overview") await loadOverview();
      else if (state.tab === "erasure") erasureView();
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
    var listed = STATES.indexOf(state.tab) >= 0 || state.tab === "audit" || state.tab === "webhooks" || state.tab === "bans";
    if (listed && !ui.list.children.length) ui.list.append(h("li", { class: "empty", text: t.empty }));
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
    var n = cleanEnd().length;
    ui.approveShown.hidden = !(OPEN[state.tab] && state.order === "clean" && n);
    ui.approveShown.textContent = fmt(t.approveShown, { n: n });
  }

  // ------------------------------------------------------------------ audit

  async function loadAudit(more) {
    var page = await api("GET", "/audit?limit=50" + (more && state.next ? "&before=" + state.next : ""));
    state.next = page.next;
    if (!more) ui.list.append(h("li", { class: "row head", "aria-hidden": "true" }, h("span", { text: t.at }),
      h("span", { text: t.who }), h("span", { text: t.action }), h("span", { text: t.comment }), h("span", { text: t.why })));
    page.entries.forEach(function (e) {
      ui.list.append(h("li", { class: "row" },
        h("span", { class: "cell", "data-label": t.at }, time(e.at)),
        h("span", { class: "cell", "data-label": t.who, text: e.moderator }),
        h("span", { class: "cell action", "data-label": t.action, "data-action": e.action, text: t.actions[e.action] || e.action }),
        h("span", { class: "cell", "data-label": t.comment }, shortId(e.comment)),
        h("span", { class: "cell", "data-label": t.why, text: e.reason })));
    });
  }

  // ------------------------------------------------------------------ queue items

  function addItem(it) {
    var empty = ui.list.querySelector(".empty");
    if (empty) empty.remove();
    it.box = h("input", { type: "checkbox", "aria-label": t.select + " " + it.author.name });
    var body = h("div", { class: "body", text: it.body });
    var link = articleUrl(it.thread);
    var meta = h("dl", { class: "meta" },
      h("dt", { text: t.thread }),
      h("dd", {}, link ? h("a", { href: link, target: "_blank", rel: "noopener noreferrer", title: t.openArticle, text: it.thread }) : it.thread),
      h("dt", { text: t.score }), h("dd", { class: it.score >= 3 ? "score high" : "score", text: String(it.score) }),
      h("dt", { text: t.reasons }), h("dd", { text: it.reasons.join(", ") || "–" }),
      it.model === null ? null : h("dt", { text: t.model }),
      it.model === null ? null : h("dd", { class: "model", text: Math.round(it.model * 100) + " %" }),
      it.reports ? h("dt", { text: t.reports }) : null, it.reports ? h("dd", { text: String(it.reports) }) : null);
    var acts = h("div", { class: "acts" });
    var tab = state.tab;
    if (OPEN[tab]) {
      ["approve", "reject", "spam"].forEach(function (a) {
        acts.append(h("button", { type: "button", "data-action": a, text: t[a === "spam" ? "markSpam" : a],
          onclick: function () { decide(a, [it]); } }));
      });
      acts.append(h("button", { type: "button", "data-action": "approve_and_trust", text: t.trust,
        onclick: function () { decide("approve_and_trust", [it]); } }));
    }
    if (OPEN[tab] || tab === "approved") {
      acts.append(h("button", { type: "button", "data-action": "reject_author", class: "danger",
        text: tab === "approved" ? t.takeDown : t.rejectAuthor, onclick: function () { decide("reject_author", [it]); } }));
    }
    if (state.admin) acts.append(banBox(it));
    it.el = h("li", { class: "item", tabindex: "-1", id: "i-" + it.id, "data-id": it.id,
        onclick: function (e) { if (e.target === it.el || e.target === body) focusItem(state.items.indexOf(it), true); } },
      h("div", { class: "head" }, OPEN[tab] ? it.box : null, h("b", { class: "name", text: it.author.name }),
        h("span", { class: "email", text: it.author.email }), time(it.created_at)),
      body, meta,
      it.lease ? h("p", { class: "lease", text: fmt(t.lease, { who: it.lease.key_id, until: when(it.lease.until) }) }) : null,
      acts);
    state.items.push(it);
    ui.list.append(it.el);
  }

  // A ban from a comment: its author's email, or the address it came from, for a while.
  function banBox(it) {
    var n = ++uid;
    var subject = h("fieldset", { class: "subject" }, h("legend", { text: t.banKind }),
      h("label", { class: "inline" }, h("input", { type: "radio", name: "ban-" + n, value: "email", checked: true }), " " + fmt(t.banEmail, { email: it.author.email })),
      h("label", { class: "inline" }, h("input", { type: "radio", name: "ban-" + n, value: "address" }), " " + t.banAddress));
    var length = h("select", { id: "ban-for-" + n });
    DURATIONS.forEach(function (d) { length.append(h("option", { value: d[1] === null ? "" : d[1], text: t[d[0]] })); });
    var reason = h("input", { id: "ban-why-" + n, maxlength: 500 });
    var box = h("details", { class: "banbox" }, h("summary", { text: t.ban }),
      h("form", { onsubmit: async function (e) {
          e.preventDefault();
          var byAddress = subject.querySelector("input:checked").value === "address";
          var body = { reason: reason.value.trim(), duration_seconds: length.value ? Number(length.value) : null };
          if (byAddress) body.comment_id = it.id; else body.email = it.author.email;
          try {
            await api("POST", "/bans", body);
            say(t.banDone);
            box.open = false;
          } catch (x) { say(x.message, true); }
        } },
        subject,
        h("p", {}, h("label", { for: "ban-for-" + n, text: t.duration }), length),
        h("p", {}, h("label", { for: "ban-why-" + n, text: t.reason }), cannedSelect(reason), reason),
        h("button", { type: "submit", class: "danger", text: t.banDo })));
    return box;
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
    if (!items.length || STATES.indexOf(state.tab) < 0) return;
    var reason = ui.reason.value.trim();
    try {
      var res = await api("POST", "/decisions", { decisions: items.map(function (it) {
        return { id: it.id, action: action, reason: reason || null };
      }) });
    } catch (e) {
      say(e.message, true);
      return;
    }
    var failed = res.results.filter(function (r) { return r.status !== 200; });
    say(fmt(t.done, { n: res.results.length - failed.length }) + " " +
      failed.map(function (r) { return fmt(t.conflict, { id: "…" + r.id.slice(-6), detail: r.detail }); }).join(" "), failed.length > 0);
    var gone = {};
    res.results.forEach(function (r) { if (r.status === 200 && r.outcome !== state.tab) gone[r.id] = 1; });
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

  // ------------------------------------------------------------------ bans

  async function loadBans() {
    var email = h("input", { id: "ban-email", type: "email", required: true, autocomplete: "off" });
    var length = h("select", { id: "ban-email-for" });
    DURATIONS.forEach(function (d) { length.append(h("option", { value: d[1] === null ? "" : d[1], text: t[d[0]] })); });
    var reason = h("input", { id: "ban-email-why", maxlength: 500 });
    ui.extra.append(h("form", { class: "card form", onsubmit: async function (e) {
        e.preventDefault();
        try {
          await api("POST", "/bans", { email: email.value.trim(), reason: reason.value.trim(),
            duration_seconds: length.value ? Number(length.value) : null });
          say(t.banDone);
          load(false);
        } catch (x) { say(x.message, true); }
      } },
      h("h2", { text: t.newBan }),
      h("p", {}, h("label", { for: "ban-email", text: t.email }), email),
      h("p", {}, h("label", { for: "ban-email-for", text: t.duration }), length),
      h("p", {}, h("label", { for: "ban-email-why", text: t.reason }), cannedSelect(reason), reason),
      h("button", { type: "submit", class: "danger", text: t.banDo })));
    var page = await api("GET", "/bans");
    page.bans.slice().reverse().forEach(function (b) {
      var li = h("li", { class: "item ban", "data-id": b.id },
        h("div", { class: "head" }, h("b", {}, b.kind === "email" ? b.email : t.kindIp + " ", b.kind === "email" ? null : shortId(b.comment_id))),
        h("dl", { class: "meta" },
          h("dt", { text: t.created }), h("dd", {}, time(b.created_at)),
          h("dt", { text: t.until }), h("dd", {}, b.until ? time(b.until) : t.forever),
          h("dt", { text: t.why }), h("dd", { text: b.reason || "–" }),
          h("dt", { text: t.by }), h("dd", {}, shortId(b.key))),
        h("div", { class: "acts" }, h("button", { type: "button", class: "danger", text: t.lift, onclick: async function () {
          if (!window.confirm(t.liftAsk)) return;
          try {
            await api("DELETE", "/bans/" + encodeURIComponent(b.id));
            li.remove();
            say(t.lifted);
          } catch (x) { say(x.message, true); }
        } })));
      ui.list.append(li);
    });
  }

  // ------------------------------------------------------------------ erasure

  function erasureView() {
    var email = h("input", { id: "erase-email", type: "email", required: true, autocomplete: "off" });
    var sure = h("input", { id: "erase-sure", type: "checkbox", required: true });
    ui.extra.append(h("form", { class: "card form", onsubmit: async function (e) {
        e.preventDefault();
        var address = email.value.trim();
        try {
          var res = await api("POST", "/erasures", { email: address });
          say(fmt(t.erased, { n: res.erased_comments, email: address }));
          email.value = "";
          sure.checked = false;
        } catch (x) { say(x.message, true); }
      } },
      h("h2", { text: t.erasure }), h("p", { text: t.eraseIntro }),
      h("p", {}, h("label", { for: "erase-email", text: t.email }), email),
      h("p", {}, h("label", { class: "inline" }, sure, " " + t.eraseConfirm)),
      h("button", { type: "submit", class: "danger", text: t.eraseDo })));
  }

  // ------------------------------------------------------------------ dead webhook deliveries

  async function loadDead(more) {
    var page = await api("GET", "/webhooks/dead?limit=50" + (more && state.next ? "&before=" + encodeURIComponent(state.next) : ""));
    state.next = page.next;
    if (!more) {
      var selected = function () {
        return Array.from(ui.list.querySelectorAll("input[type=checkbox]:checked")).map(function (b) { return b.value; });
      };
      ui.extra.append(h("div", { class: "tools" },
        h("span", { class: "total", text: fmt(t.deadTotal, { n: page.total }) }),
        h("button", { type: "button", hidden: !page.total, text: t.requeueSel, onclick: function () {
          var ids = selected();
          if (ids.length) requeue({ ids: ids });
        } }),
        h("button", { type: "button", hidden: !page.total, text: fmt(t.requeueAll, { n: page.total }), onclick: function () { requeue({ all: true }); } })));
    }
    page.deliveries.forEach(function (d) {
      ui.list.append(h("li", { class: "item dead", "data-id": d.id },
        h("div", { class: "head" }, h("input", { type: "checkbox", value: d.id, "aria-label": t.select + " " + d.event }),
          h("b", { text: d.event }), h("span", { class: "email", text: "→ " + d.target }), time(d.died_at)),
        h("dl", { class: "meta" },
          h("dt", { text: t.attempts }), h("dd", { text: String(d.attempts) }),
          h("dt", { text: t.lastError }), h("dd", { class: "error", text: d.last_error }),
          h("dt", { text: t.comment }), h("dd", {}, shortId(d.comment))),
        h("div", { class: "acts" }, h("button", { type: "button", text: t.requeue, onclick: function () { requeue({ ids: [d.id] }); } }))));
    });
  }

  async function requeue(body) {
    try {
      var res = await api("POST", "/webhooks/dead/requeues", body);
      await load(false);
      say(fmt(t.requeued, { n: res.requeued.length }));
    } catch (x) { say(x.message, true); }
  }

  // ------------------------------------------------------------------ overview

  async function loadOverview() {
    var period = h("select", { id: "period", "aria-label": t.period, onchange: function () {
      state.days = Number(period.value); load(false);
    } });
    [7, 14, 30, 90].forEach(function (n) { period.append(h("option", { value: n, text: fmt(t.lastDays, { n: n }), selected: n === state.days })); });
    ui.extra.append(h("div", { class: "tools" }, period));
    var o = await api("GET", "/overview?days=" + state.days);
    var times = o.decision_times;
    if (!o.complete) ui.extra.append(h("p", { class: "msg bad", text: t.partial }));
    var moderators = o.moderators.map(function (m) { return [m.moderator || m.key, m.decisions]; });
    var reasons = o.reasons.map(function (r) { return [r.reason, r.count]; });
    var figures = [
      figure(t.days, function (w) { return dayChart(o.days, w); }, table([t.date, t.outcomes.approved, t.outcomes.rejected, t.outcomes.spam],
        o.days.map(function (d) { return [d.date, d.approved, d.rejected, d.spam]; })), "wide"),
      h("figure", { class: "card stats" }, h("figcaption", { text: t.decisionTime }),
        h("dl", {},
          h("dt", { text: t.median }), h("dd", { class: "big", text: duration(times.median_seconds) }),
          h("dt", { text: t.p90 }), h("dd", { class: "big", text: duration(times.p90_seconds) }),
          h("dt", { text: t.decided }), h("dd", { class: "big", text: number.format(times.decisions) }))),
      figure(t.throughput, function (w) { return barChart(moderators, w); }, table([t.who, t.decided], moderators)),
      figure(t.topReasons, function (w) { return barChart(reasons, w); }, table([t.why, t.count], reasons))
    ];
    ui.extra.append(h("div", { class: "charts" }, figures));
    // Drawn once placed, at the width each is shown at: their text keeps its size on a phone.
    figures.forEach(function (f) { if (f.draw) f.draw(); });
  }

  function figure(caption, draw, data, wide) {
    var place = h("div", { class: "plot-place" });
    var fig = h("figure", { class: "card chart" + (wide ? " wide" : "") }, h("figcaption", { text: caption }),
      place, h("details", {}, h("summary", { text: t.table }), data));
    fig.draw = function () {
      var width = Math.max(240, Math.min(900, place.clientWidth || 600));
      place.replaceChildren(draw(width) || h("p", { class: "empty", text: t.noData }));
    };
    return fig;
  }

  function table(head, rows) {
    return h("table", {}, h("thead", {}, h("tr", {}, head.map(function (c) { return h("th", { scope: "col", text: c }); }))),
      h("tbody", {}, rows.map(function (r) {
        return h("tr", {}, r.map(function (c, i) { return h(i ? "td" : "th", i ? { text: String(c) } : { scope: "row", text: String(c) }); }));
      })));
  }

  // Stacked bars, one per day: approved, rejected, spam. Self-drawn SVG, no library.
  function dayChart(days, W) {
    var total = days.reduce(function (s, d) { return s + d.approved + d.rejected + d.spam; }, 0);
    if (!total) return null;
    var H = 220, top = 12, bottom = 28, left = 34, max = 1;
    days.forEach(function (d) { max = Math.max(max, d.approved + d.rejected + d.spam); });
    var step = (W - left) / days.length, bar = Math.max(2, step * 0.7), scale = (H - top - bottom) / max;
    var g = svg("svg", { viewBox: "0 0 " + W + " " + H, class: "plot", role: "img",
      "aria-label": t.days + ": " + days.map(function (d) { return d.date + " " + (d.approved + d.rejected + d.spam); }).join(", ") });
    [0, 0.5, 1].forEach(function (f) {
      var y = H - bottom - f * max * scale;
      g.append(svg("line", { x1: left, x2: W, y1: y, y2: y, class: "grid" }),
        svg("text", { x: left - 6, y: y + 4, "text-anchor": "end", class: "tick" }, String(Math.round(f * max))));
    });
    days.forEach(function (d, i) {
      var x = left + i * step + (step - bar) / 2, y = H - bottom;
      ["approved", "rejected", "spam"].forEach(function (k) {
        if (!d[k]) return;
        var hgt = d[k] * scale;
        y -= hgt;
        g.append(svg("rect", { x: x, y: y, width: bar, height: hgt, class: "bar " + k },
          svg("title", {}, d.date + " · " + t.outcomes[k] + ": " + d[k])));
      });
      var every = Math.ceil(days.length / Math.max(2, Math.floor((W - left) / 56)));
      // Counted from today backwards, so that today always has its label.
      var last = i === days.length - 1;
      if ((days.length - 1 - i) % every === 0) {
        g.append(svg("text", { x: last ? x + bar : x + bar / 2, y: H - 10, "text-anchor": last ? "end" : "middle",
          class: "tick" }, d.date.slice(5)));
      }
    });
    return h("div", {}, g, h("p", { class: "legend" }, ["approved", "rejected", "spam"].map(function (k) {
      return h("span", {}, h("i", { class: "swatch " + k }), " " + t.outcomes[k]);
    })));
  }

  // Horizontal bars with their labels and counts, longest first.
  function barChart(pairs, W) {
    if (!pairs.length) return null;
    var row = 28, H = pairs.length * row + 4, label = Math.round(W * 0.38), max = 1;
    pairs.forEach(function (p) { max = Math.max(max, p[1]); });
    var g = svg("svg", { viewBox: "0 0 " + W + " " + H, class: "plot", role: "img",
      "aria-label": pairs.map(function (p) { return p[0] + ": " + p[1]; }).join(", ") });
    pairs.forEach(function (p, i) {
      var y = i * row + 4, w = Math.max(2, (W - label - 50) * p[1] / max);
      var fits = Math.floor(label / 8), name = p[0].length > fits ? p[0].slice(0, fits - 1) + "…" : p[0];
      g.append(svg("text", { x: label - 8, y: y + 17, "text-anchor": "end", class: "label" }, name),
        svg("rect", { x: label, y: y + 3, width: w, height: row - 8, class: "bar one" }, svg("title", {}, p[0] + ": " + p[1])),
        svg("text", { x: label + w + 6, y: y + 17, class: "label" }, String(p[1])));
    });
    return g;
  }

  // ------------------------------------------------------------------ keyboard

  document.addEventListener("keydown", function (e) {
    if (!ui.list || !document.body.contains(ui.list) || !OPEN[state.tab] || e.ctrlKey || e.metaKey || e.altKey) return;
    if (/^(INPUT|TEXTAREA|SELECT|SUMMARY)$/.test(e.target.tagName) && e.target.type !== "checkbox") return;
    var it = state.items[state.current];
    var on = it && document.activeElement === it.el;
    if (e.key === "j") focusItem(on ? state.current + 1 : state.current, true);
    else if (e.key === "k") focusItem(state.current - 1, true);
    else if (e.key === "x" && it) it.box.checked = !it.box.checked;
    else if (KEYS[e.key]) decide(KEYS[e.key]);
    else return;
    e.preventDefault();
  });

  if (store.getItem("lb-key")) start().catch(function (e) { signInView(e.message); });
  else signInView("");
})();
