// Picket's bar above SimCord's preview page (bot/try_switchboard.py serves both): where (the channel or the
// DMs) and who (each seeded person). Changing who looks at the channel is SimCord's own "Viewing as"
// switch; going to someone's DMs (or back) asks the server to open a preview there, then reloads.
// It also keeps an Enter pressed to send while SimCord's page is still busy (see holdSend below).
const key = window.location.hash.startsWith("#") ? window.location.hash.slice(1) : "";
const bar = document.getElementById("picket-try");
const picker = document.getElementById("viewer-picker");
const clock = document.getElementById("picket-clock");
let state = JSON.parse(bar.dataset.state);
const loadedView = state.view;
let opensAt = Date.now() + state.opens_in * 1000;
let busy = false;

async function call(path, body) {
  const answer = await fetch(path, {
    method: body ? "POST" : "GET",
    headers: { "X-Picket-Key": key, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    cache: "no-store",
  });
  if (!answer.ok) throw new Error(`${path}: ${answer.status}`);
  return answer.json();
}

function format(template, name, value) { return template.replace(`{${name}}`, value); }

function tickClock() {
  const left = Math.max(0, Math.round((opensAt - Date.now()) / 1000));
  const text = left > 0
    ? format(state.words.opens, "time", `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`)
    : state.words.on_sale;
  if (clock.textContent !== text) clock.textContent = text;
  clock.dataset.onSale = String(left === 0);
}

function render() {
  for (const button of bar.querySelectorAll("[data-where]")) button.setAttribute("aria-pressed", String(button.dataset.where === state.where));
  for (const button of bar.querySelectorAll("[data-who]")) {
    const person = state.people.find((p) => p.key === button.dataset.who);
    button.setAttribute("aria-pressed", String(button.dataset.who === state.who));
    const badge = button.querySelector(".picket-unread");
    const unread = person ? person.unread : 0;
    badge.dataset.unread = String(unread);
    badge.textContent = unread ? String(unread) : "";
    badge.hidden = !unread;
    badge.title = unread ? format(state.words.unread, "n", String(unread)) : "";
  }
  bar.dataset.where = state.where;
  bar.dataset.who = state.who;
  tickClock();
}

async function go(where, who) {
  if (busy) return;
  busy = true;
  heldSend = false;
  try {
    if (where === "channel" && state.where === "channel") {
      // The same channel as someone else: SimCord's own viewer switch, no reload.
      const person = state.people.find((p) => p.key === who);
      if (picker && person && picker.value !== person.id) {
        picker.value = person.id;
        picker.dispatchEvent(new Event("change"));
      }
    }
    const next = await call("/picket/view", { where, who });
    if (next.view !== loadedView) { window.location.reload(); return; }
    state = next;
    render();
  } finally {
    busy = false;
  }
}

bar.addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest("button") : null;
  if (!button) return;
  if (button.dataset.where) void go(button.dataset.where, state.who);
  else if (button.dataset.who) void go(state.where, button.dataset.who);
});

// Someone picked in SimCord's own "Viewing as": the bar follows. Read in the capture phase, before
// SimCord's own listener, which empties the picker while it switches the viewer.
document.addEventListener("change", (event) => {
  if (event.target !== picker || busy || state.where !== "channel") return;
  heldSend = false;
  const person = state.people.find((p) => p.id === picker.value);
  if (person && person.key !== state.who) void call("/picket/view", { where: "channel", who: person.key }).then((next) => { state = next; render(); });
}, true);

async function poll() {
  try {
    const next = await call("/picket/state");
    if (next.view !== loadedView) { window.location.reload(); return; }
    state = next;
    opensAt = Date.now() + state.opens_in * 1000;
    render();
  } catch (_) {
    // the session ended (Ctrl-C) or is restarting: keep trying quietly
  }
}

// SimCord's page takes one action at a time and greys its Send button meanwhile, and it does so a moment
// longer than it shows: the autocomplete that lists the shows is still finishing (reading the page back)
// when its choices appear. Enter pressed to send then did nothing at all: /book, the show chosen, stayed
// in the box, unsent, without a word. Such an Enter is held and sent as soon as Send is back; typing,
// clicking in the message box or changing who looks cancels it. An Enter that picks from a list, or
// that comes while the person's own message or command is being sent (a double press), is SimCord's.
const form = document.getElementById("channel-composer");
const send = document.getElementById("send-message");
let heldSend = false;

function sendingOwn() {
  const pending = window.simcordPreview?.pendingAction;
  return Boolean(pending && ["run_command", "send_message", "edit_message"].includes(pending.kind));
}

function picksFromList() {
  const popup = form.querySelector(".command-popup:not([hidden])");
  return Boolean(popup && (popup.classList.contains("is-browsing") || popup.querySelector('[aria-selected="true"]')));
}

function holdSend(event) {
  const target = event.target instanceof Element ? event.target : null;
  if (!form || !send || !target || !form.contains(target)) return;
  if (event.key !== "Enter") { if (event.key !== "Shift") heldSend = false; return; }
  if (event.shiftKey || event.isComposing || event.keyCode === 229) return;
  if (target instanceof HTMLButtonElement && !target.matches(".command-chip")) return;
  if (!send.disabled || picksFromList() || sendingOwn()) return;
  event.preventDefault();
  event.stopPropagation();
  heldSend = true;
}

function releaseSend() {
  if (!heldSend || send.disabled) return;
  heldSend = false;
  form.requestSubmit();
}

if (form && send) {
  document.addEventListener("keydown", holdSend, true);
  for (const kind of ["input", "pointerdown"]) form.addEventListener(kind, () => { heldSend = false; }, true);
  new MutationObserver(releaseSend).observe(send, { attributes: true, attributeFilter: ["disabled"] });
}

render();
setInterval(tickClock, 1000);
setInterval(poll, 1500);
