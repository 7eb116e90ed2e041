// Keeps the device token on this phone (IndexedDB), removes it from the page, opens the app.
import { setSetting } from "./outbox.js";

const holder = document.getElementById("device-token");
const token = holder.dataset.token;
holder.removeAttribute("data-token");
await setSetting("token", token);
window.location.replace(holder.dataset.capture);
