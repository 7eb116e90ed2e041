// Sends the outbox: each report once, each file in chunks that each carry their own SHA-256.
import { all, forgetContent, get, getSetting, put } from "./outbox.js";
import { sha256Hex } from "./form.js";

const CHUNK_SIZE = 1024 * 1024;

class SyncFailure extends Error {}

// Out of storage (507) or busy (503): the server kept nothing partial; the item stays saved
// on the phone and is sent again on the next sync.
const RETRY_LATER = new Set([503, 507]);

export function isRetryLater(error) {
  return error instanceof SyncFailure && RETRY_LATER.has(error.status);
}

function apiBase() {
  return document.getElementById("app-script").dataset.api.replace(/whoami$/, "");
}

async function call(token, method, path, body, headers = {}) {
  const init = { method, headers: { Authorization: `Bearer ${token}`, ...headers }, cache: "no-store" };
  if (body instanceof Blob) {
    init.body = body;
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(apiBase() + path, init);
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    const failure = new SyncFailure(answer.message || `HTTP ${response.status}`);
    failure.status = response.status;
    failure.answer = answer;
    failure.retryLater = RETRY_LATER.has(response.status);
    throw failure;
  }
  return answer;
}

async function sendFile(token, file, onChange) {
  const described = await call(token, "POST", "uploads", {
    report_id: file.report_id,
    file_id: file.file_id,
    sha256: file.sha256,
    size: file.size,
    filename: file.filename,
    shows_injury: file.shows_injury,
    capture_metadata: file.capture_metadata,
  });
  let state = described;
  while (!state.confirmed) {
    const offset = state.received_bytes;
    if (offset >= file.size) {
      // Every byte is in but it was not stored (e.g. the disk was full): ask again.
      state = await call(token, "POST", `uploads/${file.file_id}/finish`, {});
      continue;
    }
    const chunk = file.blob.slice(offset, Math.min(offset + CHUNK_SIZE, file.size));
    const chunkHash = await sha256Hex(chunk);
    try {
      state = await call(token, "PUT", `uploads/${file.file_id}/chunks/${offset}`, chunk, {
        "X-Chunk-SHA256": chunkHash,
        "Content-Type": "application/octet-stream",
      });
    } catch (error) {
      // The server says where it is; resume from there rather than resend what it has.
      if (error.status === 409 && error.answer && Number.isInteger(error.answer.received_bytes)) {
        state = { received_bytes: error.answer.received_bytes, confirmed: false };
        continue;
      }
      throw error;
    }
    onChange();
  }
  file.state = "confirmed";
  file.receipt = state.receipt;
  await put("files", file);
  await forgetContent("files", file.file_id);
}

export async function syncOutbox(onChange) {
  const token = await getSetting("token");
  if (!token) throw new SyncFailure("not-connected");
  for (const report of await all("reports")) {
    if (report.state === "confirmed") continue;
    report.state = "sending";
    await put("reports", report);
    onChange();
    try {
      if (!report.receipt) {
        const answer = await call(token, "POST", "reports", report.payload);
        report.receipt = answer.receipt;
        report.number = answer.number;
        await put("reports", report);
      }
      const files = (await all("files")).filter((f) => f.report_id === report.client_id);
      for (const file of files) {
        if (file.state === "confirmed") continue;
        file.state = "sending";
        await put("files", file);
        onChange();
        await sendFile(token, file, onChange);
        onChange();
      }
      const fresh = await get("reports", report.client_id);
      fresh.state = "confirmed";
      await put("reports", fresh);
      await forgetContent("reports", report.client_id);
    } catch (error) {
      const fresh = await get("reports", report.client_id);
      fresh.state = "saved";
      await put("reports", fresh);
      for (const file of await all("files")) {
        if (file.report_id === report.client_id && file.state === "sending") {
          file.state = "saved";
          await put("files", file);
        }
      }
      onChange();
      throw error;
    }
    onChange();
  }
}

export async function signOutDevice() {
  const token = await getSetting("token");
  if (!token) return;
  try {
    await call(token, "POST", "sign-out", {});
  } catch {
    // Offline or already revoked: the token is forgotten here either way.
  }
}
