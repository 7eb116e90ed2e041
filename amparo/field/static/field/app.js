// The capture app: a form, an outbox on the phone, and a button that sends it.
import { addRow, captureFiles, readReport } from "./form.js";
import { all, clearConfirmed, getSetting, saveReport } from "./outbox.js";
import { signOutDevice, syncOutbox } from "./sync.js";

const script = document.getElementById("app-script");
const outbox = document.getElementById("outbox");
const message = document.getElementById("sync-message");
const text = (key) => outbox.dataset[key];

function stateLabel(state) {
  return { saved: text("saved"), sending: text("sending"), confirmed: text("confirmed") }[state] || text("failed");
}

function line(kind, label, record) {
  const item = document.createElement("li");
  item.className = `item ${record.state}`;
  item.dataset.kind = kind;
  item.dataset.state = record.state;
  if (record.sha256) item.dataset.sha256 = record.sha256;
  const name = document.createElement("span");
  name.textContent = label;
  const state = document.createElement("strong");
  state.textContent = stateLabel(record.state);
  item.append(name, " — ", state);
  if (record.state === "confirmed" && record.receipt) {
    const receipt = document.createElement("code");
    receipt.className = "receipt";
    receipt.textContent = ` ${text("receipt")}: ${record.receipt.item_id} #${record.receipt.custody_entry}`;
    item.append(receipt);
  }
  return item;
}

async function render() {
  const reports = await all("reports");
  const files = await all("files");
  const items = [];
  for (const report of reports) {
    const when = report.saved_at ? new Date(report.saved_at).toLocaleString() : "";
    items.push(line("report", `${text("report")} ${when}`, report));
    for (const file of files.filter((f) => f.report_id === report.client_id)) {
      items.push(line("file", file.filename, file));
    }
  }
  outbox.replaceChildren(...items);
  const connected = Boolean(await getSetting("token"));
  const status = document.getElementById("connection");
  status.textContent = connected ? status.dataset.connected : status.dataset.disconnected;
  status.dataset.state = connected ? "connected" : "disconnected";
}

async function save(event) {
  event.preventDefault();
  const form = event.target;
  const payload = readReport(form);
  const files = await captureFiles(
    form.querySelector("#files"),
    payload.client_id,
    form.querySelector("#shows-injury").checked,
  );
  await saveReport(
    { client_id: payload.client_id, payload, state: "saved", saved_at: Date.now() },
    files,
  );
  form.reset();
  message.textContent = text("savedMessage");
  await render();
}

let syncing = false;
const RETRY_LATER_MS = 10 * 60 * 1000;

async function sync() {
  if (syncing) return;
  syncing = true;
  document.body.dataset.syncing = "yes";
  try {
    if (!navigator.onLine) {
      message.textContent = text("offline");
      return;
    }
    await syncOutbox(render);
    message.textContent = "";
  } catch (error) {
    message.textContent = error.message === "not-connected" ? text("notConnected") : error.message;
    // The server is full or busy: everything stays on the phone; try again by itself later.
    if (error.retryLater) setTimeout(sync, RETRY_LATER_MS);
  } finally {
    syncing = false;
    document.body.dataset.syncing = "no";
    await render();
  }
}

async function signOut() {
  await signOutDevice();
  await clearConfirmed();
  message.textContent = text("signedOut");
  await render();
}

async function registerWorker() {
  if (!("serviceWorker" in navigator)) return;
  await navigator.serviceWorker.register(script.dataset.sw, { type: "classic" });
  await navigator.serviceWorker.ready;
  document.documentElement.dataset.offlineReady = "yes";
}

document.getElementById("report-form").addEventListener("submit", save);
document.getElementById("sync").addEventListener("click", sync);
document.getElementById("sign-out").addEventListener("click", signOut);
for (const button of document.querySelectorAll("[data-add]")) {
  button.addEventListener("click", () => addRow(button.dataset.add));
}
window.addEventListener("online", sync);
render();
registerWorker();
