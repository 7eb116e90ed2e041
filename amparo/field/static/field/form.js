// Reads the capture form into a report payload and hashes files as they are captured.

const ROW_FIELDS = {
  entries: ["time", "location", "what"],
  orders: ["time", "words", "audible", "times_given"],
  detentions: ["name", "name_consent", "time", "place", "conduct", "charge", "vehicle"],
  force: ["what", "medical", "injury_photo_consent"],
  witnesses: ["name", "contact", "filmed"],
};

function readRow(row, fields) {
  const values = {};
  let filled = false;
  for (const name of fields) {
    const input = row.querySelector(`[name="${name}"]`);
    if (!input) continue;
    if (input.type === "checkbox") {
      values[name] = input.checked;
    } else {
      values[name] = input.value.trim();
      if (values[name] && name !== "audible") filled = true;
    }
  }
  return filled ? values : null;
}

export function addRow(group) {
  const rows = document.querySelectorAll(`[data-group="${group}"]`);
  const last = rows[rows.length - 1];
  const copy = last.cloneNode(true);
  for (const input of copy.querySelectorAll("input, textarea")) {
    if (input.type === "checkbox") input.checked = false;
    else input.value = "";
  }
  last.after(copy);
}

export function readReport(form) {
  const payload = {
    client_id: crypto.randomUUID(),
    device_created_at: new Date().toISOString(),
    deployment: form.querySelector("#deployment").value.trim() || null,
    agency_types: [...form.querySelectorAll('[name="agency"]:checked')].map((box) => box.value),
    in_charge_role: form.querySelector("#in-charge").value.trim(),
    narrative: form.querySelector("#narrative").value,
    written_after_fact_at: form.querySelector("#after-fact").checked ? new Date().toISOString() : null,
  };
  for (const [group, fields] of Object.entries(ROW_FIELDS)) {
    payload[group] = [...form.querySelectorAll(`[data-group="${group}"]`)]
      .map((row) => readRow(row, fields))
      .filter(Boolean);
  }
  return payload;
}

export async function sha256Hex(blob) {
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

// Each file gets its id and hash now, at capture, before it ever leaves the phone.
export async function captureFiles(input, reportId, showsInjury) {
  const captured = [];
  for (const file of input.files) {
    captured.push({
      file_id: crypto.randomUUID(),
      report_id: reportId,
      filename: file.name,
      size: file.size,
      sha256: await sha256Hex(file),
      blob: file,
      shows_injury: showsInjury,
      capture_metadata: {
        device_time: new Date().toISOString(),
        last_modified: new Date(file.lastModified).toISOString(),
        type_on_phone: file.type,
      },
      state: "saved",
    });
  }
  return captured;
}
