// The outbox: reports and files kept in IndexedDB until the server confirms them.
const DB_NAME = "amparo-field";
const DB_VERSION = 1;

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

let opened = null;

export function openOutbox() {
  if (!opened) {
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      db.createObjectStore("reports", { keyPath: "client_id" });
      const files = db.createObjectStore("files", { keyPath: "file_id" });
      files.createIndex("report", "report_id");
      db.createObjectStore("settings");
    };
    opened = request(req);
  }
  return opened;
}

async function store(name, mode) {
  const db = await openOutbox();
  return db.transaction(name, mode).objectStore(name);
}

export async function put(name, value) {
  return request((await store(name, "readwrite")).put(value));
}

export async function all(name) {
  return request((await store(name, "readonly")).getAll());
}

export async function get(name, key) {
  return request((await store(name, "readonly")).get(key));
}

export async function remove(name, key) {
  return request((await store(name, "readwrite")).delete(key));
}

export async function getSetting(key) {
  return request((await store("settings", "readonly")).get(key));
}

export async function setSetting(key, value) {
  return request((await store("settings", "readwrite")).put(value, key));
}

export async function removeSetting(key) {
  return request((await store("settings", "readwrite")).delete(key));
}

// Save a report and its files in one transaction, so that nothing is half-saved.
export async function saveReport(report, files) {
  const db = await openOutbox();
  const tx = db.transaction(["reports", "files"], "readwrite");
  tx.objectStore("reports").put(report);
  for (const file of files) tx.objectStore("files").put(file);
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

// After confirmation the content goes; a small record of the receipt stays until sign-out.
export async function forgetContent(name, key) {
  const record = await get(name, key);
  if (!record) return;
  delete record.payload;
  delete record.blob;
  await put(name, record);
}

// Sign-out: drop the token and everything confirmed; keep what the server has not confirmed.
export async function clearConfirmed() {
  for (const file of await all("files")) {
    if (file.state === "confirmed") await remove("files", file.file_id);
  }
  for (const report of await all("reports")) {
    if (report.state === "confirmed") await remove("reports", report.client_id);
  }
  await removeSetting("token");
}
