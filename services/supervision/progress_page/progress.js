// The petitioner's progress page: reads the case number and lookup code from the URL's fragment
// (never sent to a server), asks the public API with them in the body, and shows what it answers.
const API = "../v1/public/progress";
const $ = (id) => document.getElementById(id);
let opening = null; // {case_no, code} that opened the case shown

function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}年${p(d.getMonth() + 1)}月${p(d.getDate())}日 ${p(d.getHours())}:${p(d.getMinutes())}`;
}

function say(text, ok = false) {
  const m = $("message");
  m.textContent = text;
  m.className = ok ? "ok" : "";
  m.hidden = !text;
}

async function call(path, body) {
  const response = await fetch(API + path, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Accept-Language": "zh-CN" },
    body: JSON.stringify(body),
    credentials: "omit",
    cache: "no-store",
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    const wait = response.headers.get("Retry-After");
    throw new Error(answer.detail || (wait ? `请 ${wait} 秒后再试` : "查询失败，请稍后再试"));
  }
  return answer;
}

function text(el, value) {
  el.textContent = value == null || value === "" ? "—" : value;
}

function show(p) {
  $("result").hidden = false;
  text($("r_case_no"), p.case_no);
  text($("r_status"), p.status_text);
  text($("r_unit"), p.unit_name || "正在交办");
  const limit = p.time_limit;
  text($("r_limit"), limit ? `${when(limit.due_at)} 前${limit.extended_days ? `（已延期${limit.extended_days}日）` : ""}` : "交办后确定");
  text($("r_received"), when(p.received_at));
  const answers = $("r_answers");
  answers.replaceChildren();
  if (!p.answers.length) {
    const none = document.createElement("p");
    none.className = "none";
    none.textContent = "尚未答复";
    answers.append(none);
  }
  for (const a of p.answers) {
    const box = document.createElement("div");
    box.className = "answer";
    box.textContent = `${a.title}${a.result ? `（${a.result}）` : ""}  ${when(a.at)}\n${a.text}`;
    answers.append(box);
  }
  const notices = $("r_notices");
  notices.replaceChildren();
  for (const n of p.notices) {
    const li = document.createElement("li");
    li.textContent = `${when(n.sent_at)} ${n.title}${n.channel ? `（${n.channel}）` : ""}`;
    notices.append(li);
  }
  if (!p.notices.length) notices.append(Object.assign(document.createElement("li"), { textContent: "暂无" }));
  const given = $("r_rating_given");
  given.hidden = !p.rating;
  if (p.rating) given.textContent = `您的评价：${p.rating.label}（${when(p.rating.at)}）`;
  $("rate").hidden = !p.can_rate;
  $("review").hidden = !p.can_request_review;
  $("review_title").textContent = p.review_stage === "re_review" ? "申请复核" : "申请复查";
  $("review_until").textContent = p.review_until ? `请于 ${when(p.review_until)} 前提出` : "";
}

async function open(caseNo, code) {
  say("");
  $("open").disabled = true;
  try {
    const p = await call("", { case_no: caseNo, code });
    opening = { case_no: caseNo, code };
    show(p);
  } catch (e) {
    $("result").hidden = true;
    say(e.message);
  } finally {
    $("open").disabled = false;
  }
}

$("lookup").addEventListener("submit", (e) => {
  e.preventDefault();
  open($("case_no").value.trim(), $("code").value.trim());
});

$("rate").addEventListener("change", (e) => {
  if (e.target.name === "rating") $("reopen_row").hidden = e.target.value !== "dissatisfied";
});

$("rate").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  $("send_rating").disabled = true;
  try {
    const body = { ...opening, rating: form.get("rating"), reopen: form.get("reopen") === "on" };
    if (form.get("note")) body.note = form.get("note");
    show(await call("/rating", body));
    say("评价已提交，感谢您的反馈。", true);
  } catch (err) {
    say(err.message);
  } finally {
    $("send_rating").disabled = false;
  }
});

$("review").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  $("send_review").disabled = true;
  try {
    show(await call("/review", { ...opening, reason: form.get("reason") }));
    say("申请已提交，我们将依法办理并告知您结果。", true);
  } catch (err) {
    say(err.message);
  } finally {
    $("send_review").disabled = false;
  }
});

// #n=<case number>&c=<code>: the acceptance notice's link (the fragment never reaches a server)
const given = new URLSearchParams(location.hash.slice(1));
if (given.get("n")) $("case_no").value = given.get("n");
if (given.get("c")) $("code").value = given.get("c");
if (given.get("n") && given.get("c")) open(given.get("n"), given.get("c"));
