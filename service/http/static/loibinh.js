/* loibinh comment widget, v1. Embed:
     <script src="https://COMMENTS-HOST/widget/v1/loibinh.js" defer></script>
     <div data-loibinh-site="SITE" data-loibinh-thread="THREAD"></div>
   Optional attributes: data-loibinh-lang="vi|en", data-loibinh-api="https://COMMENTS-HOST",
   data-loibinh-theme="light|dark" (default: the reader's preference),
   data-loibinh-token="JWT" (a reader signed in with the site's login; or window.loibinh.setToken).
   No framework; styles live in a shadow root and are themed by --loibinh-* properties. */
(function () {
  "use strict";
  var ME = document.currentScript;
  var ORIGIN = ME ? new URL(ME.src, location.href).origin : location.origin;
  var PAGE = 20;
  var STRINGS = {
    vi: {
      title: "Bình luận", none: "Chưa có bình luận nào. Hãy là người đầu tiên!",
      sort: "Sắp xếp", oldest: "Cũ nhất", newest: "Mới nhất", count: "{n} bình luận", to: "trả lời {name}",
      capLater: "Mã xác thực hiện ra khi bạn bắt đầu viết.", capLoading: "Đang tải mã xác thực…",
      more: "Xem thêm bình luận", reply: "Trả lời", replying: "Đang trả lời {name}", cancel: "Hủy",
      write: "Viết bình luận", name: "Họ và tên", email: "Email", body: "Lời bình", captcha: "Xác thực",
      emailHint: "Không hiển thị công khai.", answer: "Nhập các ký tự trong hình",
      image: "Mã xác thực dạng hình", refresh: "Đổi mã khác", audio: "Nghe mã",
      submit: "Gửi bình luận", sending: "Đang gửi…", hp: "Để trống ô này",
      pending: "Cảm ơn bạn! Bình luận đang chờ kiểm duyệt.",
      approved: "Cảm ơn bạn! Bình luận đã được đăng.",
      nameLen: "Họ và tên cần từ 1 đến {max} ký tự.", emailBad: "Địa chỉ email không hợp lệ.",
      bodyLen: "Lời bình cần từ 1 đến {max} ký tự.", answerEmpty: "Vui lòng nhập mã xác thực.",
      captchaFailed: "Mã xác thực chưa đúng hoặc đã hết hạn. Đã đổi mã mới, vui lòng nhập lại.",
      rateLimited: "Bạn gửi quá nhanh. Vui lòng đợi {s} giây rồi thử lại.",
      unavailable: "Hệ thống đang bận. Vui lòng thử lại sau {s} giây.",
      network: "Không kết nối được máy chủ. Vui lòng thử lại.",
      banned: "Bạn không thể bình luận trên trang này.", parentGone: "Bình luận bạn trả lời không còn nữa.",
      failed: "Không gửi được bình luận: {detail}",
      loadFailed: "Không tải được bình luận.", chars: "{n}/{max} ký tự",
      pow: "Đang xác thực tự động…", powDone: "Đã xác thực tự động.", powFailed: "Không xác thực được. Vui lòng thử lại.",
      tp: "Đang tải xác thực…", tpEmpty: "Vui lòng hoàn tất bước xác thực.",
      verified: "Đã xác minh", notify: "Báo cho tôi qua thư khi có người trả lời"
    },
    en: {
      title: "Comments", none: "No comments yet. Be the first!",
      sort: "Sort", oldest: "Oldest", newest: "Newest", count: "{n} comments", to: "replying to {name}",
      capLater: "The verification code appears when you start writing.", capLoading: "Loading verification…",
      more: "More comments", reply: "Reply", replying: "Replying to {name}", cancel: "Cancel",
      write: "Write a comment", name: "Full name", email: "Email", body: "Comment", captcha: "Verification",
      emailHint: "Never shown publicly.", answer: "Type the characters in the image",
      image: "Verification image", refresh: "New code", audio: "Listen",
      submit: "Post comment", sending: "Sending…", hp: "Leave this field empty",
      pending: "Thank you! Your comment is awaiting moderation.",
      approved: "Thank you! Your comment is published.",
      nameLen: "Full name must be 1 to {max} characters.", emailBad: "This email address is not valid.",
      bodyLen: "The comment must be 1 to {max} characters.", answerEmpty: "Please type the verification code.",
      captchaFailed: "The verification code was wrong or expired. Here is a new one; please try again.",
      rateLimited: "You are posting too fast. Please wait {s} seconds and try again.",
      unavailable: "The service is busy. Please try again in {s} seconds.",
      network: "Could not reach the server. Please try again.",
      banned: "You cannot comment on this site.", parentGone: "The comment you reply to is gone.",
      failed: "The comment was not sent: {detail}",
      loadFailed: "Could not load the comments.", chars: "{n}/{max} characters",
      pow: "Verifying automatically…", powDone: "Verified automatically.", powFailed: "Verification failed. Please try again.",
      tp: "Loading verification…", tpEmpty: "Please complete the verification.",
      verified: "Verified", notify: "Tell me by mail when someone replies"
    }
  };
  // Third-party captchas: the provider's documented script, loaded from its own
  // origin only when the site chose that provider; [script URL, global name].
  var PROVIDERS = {
    turnstile: ["https://challenges.cloudflare.com/turnstile/v0/api.js?render=explicit", "turnstile"],
    hcaptcha: ["https://js.hcaptcha.com/1/api.js?render=explicit", "hcaptcha"],
    "recaptcha-v2": ["https://www.google.com/recaptcha/api.js?render=explicit", "grecaptcha"],
    "recaptcha-v3": ["https://www.google.com/recaptcha/api.js?render=", "grecaptcha"]
  };
  var FIELDS = {
    "author.name": "name", name: "name", "author.email": "email", email: "email", body: "body",
    captcha: "captcha", "captcha.id": "captcha", "captcha.answer": "captcha", "captcha.pow": "captcha",
    "captcha.token": "captcha", captcha_answer: "captcha", form_token: "captcha"
  };
  var loaded = {};
  // Sign-in: the token the host page gives (window.loibinh.setToken), for every widget.
  var api = window.loibinh = window.loibinh || {};
  var widgets = [];
  api.setToken = function (token) {
    api.token = token || null;
    widgets.forEach(function (w) { w.signIn(); });
  };

  function h(tag, props) {
    var el = document.createElement(tag);
    for (var k in props || {}) {
      if (k === "text") el.textContent = props[k];
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), props[k]);
      else if (props[k] !== null && props[k] !== false) el.setAttribute(k, props[k] === true ? "" : props[k]);
    }
    for (var i = 2; i < arguments.length; i++) if (arguments[i]) el.append(arguments[i]);
    return el;
  }
  function fmt(s, vars) {
    return s.replace(/\{(\w+)\}/g, function (_, k) { return vars[k]; });
  }
  function hex(buf) {
    return Array.from(new Uint8Array(buf), function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }
  // One date format everywhere (the widget, the form page, the dashboard):
  // Intl's medium date and short time in the reader's language, exact on hover;
  // the list itself says how long ago.
  var UNITS = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400],
    ["hour", 3600], ["minute", 60]];
  function locale(code) { return code === "vi" ? "vi-VN" : "en-GB"; }
  function exact(d, code) {
    return new Intl.DateTimeFormat(locale(code), { dateStyle: "medium", timeStyle: "short" }).format(d);
  }
  function ago(d, code) {
    var secs = (d - Date.now()) / 1000, rtf = new Intl.RelativeTimeFormat(locale(code), { numeric: "auto" });
    for (var i = 0; i < UNITS.length; i++) {
      if (Math.abs(secs) >= UNITS[i][1]) return rtf.format(Math.round(secs / UNITS[i][1]), UNITS[i][0]);
    }
    return rtf.format(0, "second");
  }
  // Initials on one of eight colours (.lb-h0-7) chosen by the name; page_html.py does the same.
  function avatar(name) {
    var words = name.trim().split(/\s+/), sum = 0;
    var first = Array.from(words[0] || "?")[0], last = words.length > 1 ? Array.from(words[words.length - 1])[0] : "";
    for (var i = 0; i < name.length; i++) sum = (sum * 31 + name.charCodeAt(i)) >>> 0;
    return h("span", { class: "lb-av lb-h" + (sum % 8), "aria-hidden": "true", text: (first + last).toUpperCase() });
  }
  // Ids sort by time: a comment goes before the first one it precedes in this order.
  function put(list, li, desc) {
    var id = li.getAttribute("data-id"), at = null;
    for (var n = list.firstElementChild; n && !at; n = n.nextElementSibling) {
      var other = n.getAttribute("data-id");
      if (desc ? other < id : other > id) at = n;
    }
    list.insertBefore(li, at);
  }
  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }
  function script(src) {
    loaded[src] = loaded[src] || new Promise(function (ok, fail) {
      document.head.append(h("script", { src: src, async: true, onload: ok, onerror: fail }));
    });
    return loaded[src];
  }

  // ALTCHA proof of work: the number n in [0, maxnumber] whose SHA-256(salt + n)
  // is the challenge. Digests run in batches and the loop yields between them,
  // so the page never blocks.
  async function solvePow(p, live) {
    var enc = new TextEncoder(), max = p.maxnumber || 1000000, batch = 200;
    for (var start = 0; start <= max && live(); start += batch) {
      var jobs = [];
      for (var n = start; n < start + batch && n <= max; n++) {
        jobs.push(crypto.subtle.digest("SHA-256", enc.encode(p.salt + n)));
      }
      var digests = await Promise.all(jobs);
      for (var i = 0; i < digests.length; i++) if (hex(digests[i]) === p.challenge) return start + i;
      await sleep(0);
    }
    return -1;
  }

  function Widget(host) {
    this.host = host;
    this.site = host.getAttribute("data-loibinh-site");
    this.thread = host.getAttribute("data-loibinh-thread");
    this.api = (host.getAttribute("data-loibinh-api") || ORIGIN).replace(/\/$/, "") +
      "/v1/sites/" + encodeURIComponent(this.site);
    this.root = host.attachShadow({ mode: "open" });
    // The styles load while the config and the first page are on their way.
    this.root.append(h("link", { rel: "stylesheet", href: ORIGIN + "/widget/v1/loibinh.css" }));
    this.top = {};
    this.order = "oldest";
    this.ch = null;
    this.key = null;
    widgets.push(this);
    this.start();
  }

  // The reader's sign-in token, if the host page gave one: its attribute, or setToken.
  Widget.prototype.signedIn = function () {
    return this.host.getAttribute("data-loibinh-token") || api.token || null;
  };

  // A signed-in reader types no name or email and answers no captcha: the token names them.
  Widget.prototype.signIn = function () {
    if (!this.form) return;
    var on = !!this.signedIn();
    this.inputs.n.parentNode.hidden = this.inputs.e.parentNode.hidden = on;
    if (on) this.cap.hidden = this.later.hidden = true;
    else if (this.cap.hidden) this.later.hidden = false;
  };

  Widget.prototype.lang = function (configured) {
    var want = this.host.getAttribute("data-loibinh-lang") ||
      (this.host.closest("[lang]") || document.documentElement).getAttribute("lang") || "";
    want = want.slice(0, 2).toLowerCase();
    return STRINGS[want] ? want : STRINGS[configured] ? configured : "vi";
  };

  Widget.prototype.start = async function () {
    var self = this;
    var config;
    var first = this.fetchPage(null); // in parallel with the config
    try {
      config = await this.json(fetch(this.api + "/config"));
    } catch (e) {
      config = { captcha: { provider: "image" }, locale: "vi", limits: { name_max_length: 80, body_max_length: 5000 } };
    }
    this.config = config;
    this.code = this.lang(config.locale);
    this.t = STRINGS[this.code];
    this.build();
    this.load(null, first);
    this.outcome();
    // A challenge is issued when the reader comes to the form, not on every page view.
    this.form.addEventListener("focusin", function () { self.ready(); });
    setInterval(function () { self.tick(); }, 60000);
  };

  // A plain form post (the site's own form) comes back to the article with
  // its outcome in lb_* parameters: say it here, once, then drop them from the URL.
  Widget.prototype.outcome = function () {
    var q = new URLSearchParams(location.search), st = q.get("lb_status"), t = this.t;
    if (!st || document.lbOutcome) return;
    document.lbOutcome = true;
    var kind = q.get("lb_problem"), wait = q.get("lb_retry_after") || "60";
    if (st === "pending" || st === "approved") this.status.textContent = t[st];
    else if (st === "error") {
      this.alert.textContent = kind === "captcha-failed" ? t.captchaFailed : kind === "rate-limited" ?
        fmt(t.rateLimited, { s: /^\d+$/.test(wait) ? wait : "60" }) : kind === "unavailable" ?
        fmt(t.unavailable, { s: 2 }) : kind === "banned" ? t.banned : kind === "unknown-parent" ? t.parentGone :
        fmt(t.failed, { detail: kind || "?" });
    } else return;
    ["lb_status", "lb_problem", "lb_fields", "lb_retry_after", "lb_id"].forEach(function (k) { q.delete(k); });
    var rest = q.toString();
    history.replaceState(history.state, "", location.pathname + (rest ? "?" + rest : "") + location.hash);
    this.host.scrollIntoView();
  };

  Widget.prototype.tick = function () {
    var code = this.code;
    this.root.querySelectorAll("time").forEach(function (el) { el.textContent = ago(new Date(el.dateTime), code); });
  };

  Widget.prototype.ready = function () {
    var self = this;
    if (this.signedIn()) return Promise.resolve();
    this.cap.hidden = false;
    this.later.hidden = true;
    if (!this.ch && !this.pending) {
      this.pending = this.challenge().finally(function () { self.pending = null; });
    }
    return this.pending || Promise.resolve();
  };

  Widget.prototype.json = async function (pending) {
    var r = await pending;
    if (!r.ok) throw r;
    return r.json();
  };

  Widget.prototype.build = function () {
    var t = this.t, self = this, lim = this.config.limits;
    var field = function (id, label, control, hint) {
      var err = h("p", { id: id + "-err", class: "lb-err", "aria-live": "polite" });
      control.setAttribute("id", id);
      control.setAttribute("aria-describedby", (hint ? id + "-hint " : "") + id + "-err");
      self.errs[id] = err;
      self.inputs[id] = control;
      return h("div", { class: "lb-f" }, h("label", { for: id, text: label }), control,
        hint && h("p", { id: id + "-hint", class: "lb-hint", text: hint }), err);
    };
    this.errs = {};
    this.inputs = {};
    this.list = h("ol", { class: "lb-list" });
    this.total = h("span", { class: "lb-count" });
    var sort = h("select", { id: "lb-sort", onchange: function () { self.resort(sort.value); } },
      h("option", { value: "oldest", text: t.oldest }), h("option", { value: "newest", text: t.newest }));
    this.empty = h("p", { class: "lb-empty", hidden: true, text: t.none });
    this.more = h("button", { type: "button", class: "lb-more", hidden: true, text: t.more,
      onclick: function () { self.load(self.next); } });
    this.replyNote = h("span");
    this.replying = h("p", { class: "lb-replying", hidden: true }, this.replyNote, " ",
      h("button", { type: "button", class: "lb-link", text: t.cancel, onclick: function () { self.replyTo(null); } }));
    this.counter = h("p", { class: "lb-hint", id: "b-count", "aria-live": "off" });
    var body = h("textarea", { name: "body", rows: 5, required: true, maxlength: lim.body_max_length,
      oninput: function () { self.count(); } });
    this.capBox = h("div", { class: "lb-cap-box" }, h("p", { class: "lb-hint", text: t.capLoading }));
    this.capErr = h("p", { id: "a-err", class: "lb-err", "aria-live": "polite" });
    this.errs.captcha = this.capErr;
    this.status = h("p", { class: "lb-status", role: "status", "aria-live": "polite" });
    this.alert = h("p", { class: "lb-alert", role: "alert" });
    this.send = h("button", { type: "submit", class: "lb-send", text: t.submit });
    this.form = h("form", { class: "lb-form", novalidate: true, "aria-labelledby": "lb-w",
        onsubmit: function (e) { e.preventDefault(); self.submit(); } },
      h("h3", { id: "lb-w", text: t.write }), this.replying,
      field("n", t.name, h("input", { name: "name", autocomplete: "name", required: true, maxlength: lim.name_max_length })),
      field("e", t.email, h("input", { name: "email", type: "email", autocomplete: "email", required: true }), t.emailHint),
      field("b", t.body, body), this.notifyBox(),
      this.counter,
      h("div", { class: "lb-hp", "aria-hidden": "true" },
        h("label", { text: t.hp }, h("input", { name: "website", tabindex: "-1", autocomplete: "off" }))),
      this.later = h("p", { class: "lb-hint", text: t.capLater }),
      this.cap = h("fieldset", { class: "lb-cap", hidden: true }, h("legend", { text: t.captcha }), this.capBox, this.capErr),
      this.alert, this.status, this.send);
    this.inputs.captcha = null;
    var box, theme = this.host.getAttribute("data-loibinh-theme"), dark = matchMedia("(prefers-color-scheme: dark)");
    var paint = function () { box.classList.toggle("lb-dark", theme === "dark" || (theme !== "light" && dark.matches)); };
    this.signIn();
    this.root.append(
      box = h("section", { class: "lb", lang: this.code, "aria-labelledby": "lb-h" },
        h("div", { class: "lb-top" }, h("h2", { id: "lb-h" }, t.title, " ", this.total),
          h("div", { class: "lb-sort" }, h("label", { for: "lb-sort", text: t.sort }), sort)),
        this.list, this.empty, this.more, this.form));
    paint();
    dark.addEventListener("change", paint);
    this.count();
  };

  Widget.prototype.count = function () {
    var max = this.config.limits.body_max_length;
    this.counter.textContent = fmt(this.t.chars, { n: this.inputs.b.value.trim().length, max: max });
  };

  Widget.prototype.fetchPage = function (after) {
    var url = this.api + "/threads/" + encodeURIComponent(this.thread) + "/comments?limit=" + PAGE +
      "&order=" + this.order + (after ? "&after=" + after : "");
    // The first page is revalidated (a cheap 304 by its ETag) so that a reload
    // shows what was just published; later pages may come from the cache.
    return this.json(fetch(url, { cache: after ? "default" : "no-cache" }));
  };

  Widget.prototype.load = async function (after, pending) {
    try {
      var page = await (pending || this.fetchPage(after));
    } catch (e) {
      this.empty.hidden = false;
      this.empty.textContent = this.t.loadFailed;
      return;
    }
    page.comments.forEach(this.add, this);
    // Revalidating the first page (after a post) keeps the cursor of the pages already shown.
    if (after || this.next === undefined) {
      this.next = page.next;
      this.more.hidden = !page.next;
    }
    this.total.textContent = page.total ? fmt(this.t.count, { n: page.total }) : "";
    if (!page.next) this.adopt();
    this.empty.hidden = this.list.children.length > 0;
  };

  Widget.prototype.resort = function (order) {
    this.order = order;
    this.next = undefined;
    this.top = {};
    this.list.textContent = "";
    this.load(null);
  };

  // A reply whose comment never came (newest first, or no longer public) is shown on its own.
  Widget.prototype.adopt = function () {
    for (var id in this.top) {
      var e = this.top[id];
      if (!e.li) while (e.replies.firstElementChild) put(this.list, e.replies.firstElementChild, this.order === "newest");
    }
  };

  Widget.prototype.entry = function (id) {
    return this.top[id] || (this.top[id] = { replies: h("ol", { class: "lb-replies" }) });
  };

  // Replies are shown one level deep, oldest first under their comment: a
  // reply to a reply joins its thread. Newest first, a reply can come before
  // its comment: it waits in the comment's entry until the comment comes.
  Widget.prototype.add = function (c) {
    if (this.root.getElementById("c-" + c.id)) return;
    var self = this, t = this.t, when = new Date(c.created_at);
    var parent = c.parent_id ? this.entry(c.parent_id) : null;
    var root = parent ? parent.root || parent : null;
    var own = this.entry(c.id);
    var text = h("div", { class: "lb-body" }), to = parent && h("span", { class: "lb-to" });
    text.innerHTML = c.body_html; // escaped by the service (paragraphs and safe links only)
    if (to) (parent.wait = parent.wait || []).push(to);
    var li = h("li", { class: "lb-c", id: "c-" + c.id, "data-id": c.id },
      h("article", { "aria-label": c.author.name },
        avatar(c.author.name),
        h("div", { class: "lb-main" },
          h("header", {}, h("b", { class: "lb-name", text: c.author.name }),
            c.author.verified && h("span", { class: "lb-verified", title: t.verified, text: "✓ " + t.verified }),
            to,
            h("time", { datetime: c.created_at, title: exact(when, this.code), text: ago(when, this.code) })),
          text,
          h("button", { type: "button", class: "lb-link", text: t.reply, onclick: function () { self.replyTo(c); } }))));
    own.li = li;
    own.name = c.author.name;
    (own.wait || []).forEach(function (el) { el.textContent = fmt(t.to, { name: c.author.name }); });
    if (parent && parent.name) to.textContent = fmt(t.to, { name: parent.name });
    if (!root) {
      li.append(own.replies);
      put(this.list, li, this.order === "newest");
      return;
    }
    own.root = root;
    li.classList.add("lb-r");
    put(root.replies, li);
    while (own.replies.firstElementChild) put(root.replies, own.replies.firstElementChild);
    own.replies = root.replies;
  };

  Widget.prototype.replyTo = function (c) {
    this.parent = c ? c.id : null;
    this.replying.hidden = !c;
    if (c) {
      this.replyNote.textContent = fmt(this.t.replying, { name: c.author.name });
      this.inputs.b.focus();
    }
  };

  Widget.prototype.challenge = async function () {
    if (this.signedIn()) return;
    var self = this, t = this.t;
    var token = (this.ticket = {});
    this.capBox.textContent = "";
    this.capBox.append(h("p", { class: "lb-hint", text: t.capLoading }));
    this.inputs.captcha = null;
    var ch;
    try {
      ch = await this.json(fetch(this.api + "/captchas", { method: "POST" }));
    } catch (r) {
      this.ch = null;
      this.capBox.textContent = "";
      this.problem(r);
      return;
    }
    this.capBox.textContent = "";
    ch.until = Date.now() + ch.expires_in * 1000;
    this.ch = ch;
    if (ch.kind === "pow") {
      var note = h("p", { class: "lb-hint", role: "status", text: t.pow });
      this.capBox.append(note);
      var n = await solvePow(ch.pow, function () { return self.ticket === token; });
      if (self.ticket !== token) return;
      if (n < 0) { note.textContent = t.powFailed; return; }
      ch.answer = { pow: btoa(JSON.stringify({ algorithm: ch.pow.algorithm, challenge: ch.pow.challenge,
        number: n, salt: ch.pow.salt, signature: ch.pow.signature })) };
      note.textContent = t.powDone;
    } else if (PROVIDERS[ch.kind]) {
      this.thirdParty(ch);
    } else {
      var input = h("input", { id: "a", name: "captcha_answer", autocomplete: "off", autocapitalize: "characters",
        spellcheck: "false", required: true, maxlength: 32, "aria-describedby": "a-err" });
      this.inputs.captcha = input;
      this.capBox.append(
        h("img", { class: "lb-img", src: ch.image, alt: t.image, width: 200, height: 70 }),
        h("div", { class: "lb-cap-tools" },
          h("button", { type: "button", class: "lb-link", text: t.refresh, onclick: function () { self.challenge(); } }),
          ch.audio_url && h("button", { type: "button", class: "lb-link", text: t.audio,
            onclick: function () { new Audio(new URL(ch.audio_url, self.api).href).play(); } })),
        h("label", { for: "a", text: t.answer }), input);
    }
  };

  Widget.prototype.thirdParty = async function (ch) {
    var p = PROVIDERS[ch.kind], g, self = this;
    var v3 = ch.kind === "recaptcha-v3";
    this.capBox.append(h("p", { class: "lb-hint", text: v3 ? "" : this.t.tp }));
    // The provider's widget must live in the page's own DOM: it goes into a
    // light-DOM child that the shadow root shows through a slot.
    if (!this.slot) {
      this.slot = h("div", { slot: "lb-captcha" });
      this.host.append(this.slot);
    }
    this.capBox.append(h("slot", { name: "lb-captcha" }));
    await script(p[0] + (v3 ? encodeURIComponent(ch.site_key) : ""));
    g = window[p[1]];
    if (v3) return;
    await new Promise(function (r) { g.ready ? g.ready(r) : r(); });
    this.capBox.firstChild.textContent = "";
    if (this.tpId !== undefined) { g.reset(this.tpId); return; }
    this.tpId = g.render(this.slot, { sitekey: ch.site_key, callback: function (token) { self.ch.answer = { token: token }; },
      "expired-callback": function () { self.ch.answer = null; } });
  };

  Widget.prototype.answer = async function () {
    var ch = this.ch;
    if (!ch) return null;
    if (ch.kind === "recaptcha-v3") {
      var g = window.grecaptcha;
      var token = await new Promise(function (r) { g.ready(function () { g.execute(ch.site_key, { action: ch.action }).then(r); }); });
      return { token: token };
    }
    if (ch.kind === "pow" || PROVIDERS[ch.kind]) return ch.answer || null;
    return this.inputs.captcha ? { id: ch.id, answer: this.inputs.captcha.value } : null;
  };

  Widget.prototype.mark = function (id, message) {
    var input = id === "captcha" ? this.inputs.captcha : this.inputs[id];
    this.errs[id].textContent = message || "";
    if (input) input.setAttribute("aria-invalid", message ? "true" : "false");
  };

  Widget.prototype.clear = function () {
    for (var id in this.errs) this.mark(id, "");
    this.alert.textContent = "";
    this.status.textContent = "";
  };

  Widget.prototype.check = function () {
    var t = this.t, lim = this.config.limits, bad = [];
    var name = this.inputs.n.value.trim(), email = this.inputs.e.value.trim(), body = this.inputs.b.value.trim();
    var anon = !this.signedIn();
    if (anon && (name.length < 1 || name.length > lim.name_max_length)) bad.push(["n", fmt(t.nameLen, { max: lim.name_max_length })]);
    if (anon && (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email) || email.length > 254)) bad.push(["e", t.emailBad]);
    if (body.length < 1 || body.length > lim.body_max_length) bad.push(["b", fmt(t.bodyLen, { max: lim.body_max_length })]);
    if (this.inputs.captcha && !this.inputs.captcha.value.trim()) bad.push(["captcha", t.answerEmpty]);
    return bad;
  };

  Widget.prototype.show = function (bad) {
    var self = this;
    bad.forEach(function (b) { self.mark(b[0], b[1]); });
    var first = bad[0][0] === "captcha" ? this.inputs.captcha : this.inputs[bad[0][0]];
    if (first) first.focus();
  };

  Widget.prototype.submit = async function () {
    var t = this.t;
    if (this.busy) return;
    this.clear();
    if (!this.ch) await this.ready();
    var bad = this.check();
    if (bad.length) return this.show(bad);
    var token = this.signedIn();
    if (!token && this.ch && Date.now() > this.ch.until) {
      await this.challenge();
      this.mark("captcha", t.captchaFailed);
      return;
    }
    var captcha = token ? null : await this.answer();
    if (!captcha && !token) {
      this.mark("captcha", this.ch && this.ch.kind === "pow" ? t.pow : t.tpEmpty);
      return;
    }
    var payload = {
      thread: this.thread, parent_id: this.parent || null,
      author: { name: this.inputs.n.value, email: this.inputs.e.value },
      body: this.inputs.b.value, website: this.root.querySelector("[name=website]").value, captcha: captcha
    };
    if (token) { delete payload.author; delete payload.captcha; }
    if (this.notify && this.notify.checked) payload.notify = true;
    if (this.ch && this.ch.form_token) payload.form_token = this.ch.form_token;
    // A retry after a lost answer or a 503 reuses its key: never a duplicate.
    this.key = this.key || (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2));
    this.busy = true;
    this.send.textContent = t.sending;
    this.send.setAttribute("aria-disabled", "true");
    var r;
    try {
      r = await fetch(this.api + "/comments", { method: "POST", body: JSON.stringify(payload),
        headers: this.headers(token) });
    } catch (e) {
      r = null;
    }
    this.busy = false;
    this.send.textContent = t.submit;
    this.send.removeAttribute("aria-disabled");
    if (r && r.status === 202) {
      var done = await r.json();
      this.key = null;
      this.status.textContent = done.status === "approved" ? t.approved : t.pending;
      this.inputs.b.value = "";
      this.count();
      this.replyTo(null);
      if (done.status === "approved") this.load(null);
      this.challenge();
      return;
    }
    await this.problem(r);
  };

  // Reply emails, on sites that send them: off until the reader ticks it.
  Widget.prototype.notifyBox = function () {
    if (!this.config.notify) return null;
    this.notify = h("input", { type: "checkbox", name: "notify" });
    return h("label", { class: "lb-notify" }, this.notify, " " + this.t.notify);
  };

  Widget.prototype.headers = function (token) {
    var headers = { "Content-Type": "application/json", "Idempotency-Key": this.key };
    if (token) headers.Authorization = "Bearer " + token;
    return headers;
  };

  // Each problem-details answer where it belongs; what was typed stays.
  Widget.prototype.problem = async function (r) {
    var t = this.t, self = this, p = {};
    if (!r || !r.status) { this.alert.textContent = t.network; return; }
    try { p = await r.json(); } catch (e) { p = {}; }
    var kind = (p.type || "").split("/").pop();
    var wait = r.headers.get("Retry-After") || "2";
    if (r.status !== 503) this.key = null;
    if (kind === "validation-failed" && p.errors) {
      var bad = p.errors.map(function (e) {
        var id = { name: "n", email: "e", body: "b", captcha: "captcha" }[FIELDS[e.field]];
        if (id === "n") return [id, fmt(t.nameLen, { max: self.config.limits.name_max_length })];
        if (id === "b") return [id, fmt(t.bodyLen, { max: self.config.limits.body_max_length })];
        if (id === "e") return [id, t.emailBad];
        return [id || null, e.message];
      });
      var known = bad.filter(function (b) { return b[0]; });
      if (known.length) this.show(known);
      var rest = bad.filter(function (b) { return !b[0]; }).map(function (b) { return b[1]; });
      if (rest.length) this.alert.textContent = fmt(t.failed, { detail: rest.join("; ") });
    } else if (kind === "captcha-failed" || kind === "form-reused") {
      await this.challenge();
      this.mark("captcha", t.captchaFailed);
      if (this.inputs.captcha) this.inputs.captcha.focus();
    } else if (r.status === 429) {
      this.alert.textContent = fmt(t.rateLimited, { s: wait });
    } else if (r.status === 503) {
      this.alert.textContent = fmt(t.unavailable, { s: wait });
    } else if (kind === "banned") {
      this.alert.textContent = t.banned;
    } else if (kind === "unknown-parent") {
      this.replyTo(null);
      this.alert.textContent = t.parentGone;
    } else {
      this.alert.textContent = fmt(t.failed, { detail: p.detail || r.status });
    }
  };

  function mount() {
    document.querySelectorAll("[data-loibinh-site][data-loibinh-thread]").forEach(function (el) {
      if (!el.shadowRoot) new Widget(el);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount);
  else mount();
})();
