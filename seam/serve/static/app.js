// The SEAM chat page: a conversation with the OpenAI-compatible API, and a live view of the user's memory.
// No build step, no dependencies. The conversation (context) lives here and is resent with every request,
// as OpenAI clients do; the server writes only the last user message to the user's memory.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { messages: [], busy: false, layers: [] };

function userId() { return $("user").value.trim(); }

function headers(json = true) {
  const h = {};
  if (json) h["Content-Type"] = "application/json";
  const key = $("api-key").value.trim();
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { ...headers(options.body !== undefined), ...(options.headers || {}) } });
  if (!response.ok) throw new Error(await errorText(response));
  return response;
}

async function errorText(response) {
  try {
    const body = await response.json();
    return `${response.status}: ${body.error ? body.error.message : JSON.stringify(body)}`;
  } catch (e) {
    return `${response.status} ${response.statusText}`;
  }
}

function status(text) { $("status").textContent = text || ""; }

function addMessage(role, text) {
  const div = document.createElement("div");
  div.className = "msg " + role;
  div.textContent = text;
  $("chat").appendChild(div);
  $("chat").scrollTop = $("chat").scrollHeight;
  return div;
}

// -- chat ------------------------------------------------------------------------------------------------
async function send(event) {
  if (event) event.preventDefault();
  const text = $("message").value;
  if (!text.trim() || state.busy) return;
  if (!userId()) { status("Choose a user first."); return; }
  state.busy = true;
  $("send").disabled = true;
  status("");
  $("message").value = "";
  addMessage("user", text);
  const messages = [...state.messages, { role: "user", content: text }];
  const bubble = addMessage("assistant", "…");
  bubble.classList.add("pending");
  try {
    const response = await api("/v1/chat/completions", {
      method: "POST",
      body: JSON.stringify({ model: $("model").value || undefined, messages, user: userId(), stream: true }),
    });
    const reply = await readStream(response, (sofar) => { bubble.textContent = sofar || "…"; });
    bubble.textContent = reply;
    bubble.classList.remove("pending");
    bubble.classList.add("done");
    state.messages = [...messages, { role: "assistant", content: reply }];
  } catch (err) {
    bubble.remove();
    status(String(err.message || err));
  } finally {
    state.busy = false;
    $("send").disabled = false;
    refreshMemory();
  }
}

async function readStream(response, onText) {
  // Server-sent events in OpenAI's chunk format: "data: {chunk}" lines, ending with "data: [DONE]".
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = "", reply = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    const lines = buffered.split("\n");
    buffered = lines.pop();
    for (const line of lines) {
      if (!line.startsWith("data: ")) continue;
      const data = line.slice(6).trim();
      if (data === "[DONE]") return reply;
      const chunk = JSON.parse(data);
      if (chunk.error) throw new Error(chunk.error.message);  // the turn failed after the stream had started
      for (const choice of chunk.choices || []) {
        if (choice.delta && choice.delta.content) { reply += choice.delta.content; onText(reply); }
      }
    }
  }
  return reply;
}

function newConversation() {
  state.messages = [];
  $("chat").innerHTML = "";
  addMessage("note", "New conversation: the context is cleared; " + (userId() || "the user") + "'s memory stays.");
  $("message").focus();
}

// -- memory -----------------------------------------------------------------------------------------------
async function refreshMemory() {
  const user = userId();
  $("memory-user").textContent = user || "?";
  if (!user) return;
  try {
    const stats = await (await api(`/v1/memory/${encodeURIComponent(user)}`)).json();
    renderStats(stats);
    const layer = $("layer").value;
    const query = layer ? `?layer=${encodeURIComponent(layer)}` : "";
    const items = await (await api(`/v1/memory/${encodeURIComponent(user)}/items${query}`)).json();
    renderItems(items.data);
  } catch (err) {
    status(String(err.message || err));
  }
}

function renderStats(stats) {
  const names = Object.keys(stats.layers);
  if (names.join() !== state.layers.join()) {
    state.layers = names;
    const select = $("layer");
    const previous = select.value;
    select.innerHTML = "";
    for (const name of names) {
      const option = document.createElement("option");
      option.value = name.replace("layer", "");
      option.textContent = name.replace("layer", "");
      select.appendChild(option);
    }
    if (previous) select.value = previous;
  }
  const layer = stats.layers["layer" + $("layer").value] || stats.layers[names[0]];
  const size = stats.file_bytes == null ? "no file yet" : `file ${(stats.file_bytes / 1024).toFixed(1)} KiB`;
  $("memory-stats").textContent =
    `${stats.turns_written} turns written · buffer ${layer.buffer_used}/${layer.buffer_slots} ` +
    `(mean strength ${layer.buffer_mean_strength.toFixed(3)}) · store ${layer.store_used}/${layer.store_slots} · ${size}`;
}

function renderItems(items) {
  const body = $("memory-items");
  body.innerHTML = "";
  $("memory-empty").hidden = items.length > 0;
  let lastTurn = null;
  for (const item of items) {
    const row = document.createElement("tr");
    row.className = item.where + (item.turn !== lastTurn ? " turn-start" : "");
    lastTurn = item.turn;
    const cells = [
      JSON.stringify(item.text ?? "").slice(1, -1),
      item.where,
      null,
      item.surprise_z == null ? "–" : item.surprise_z.toFixed(2),
      String(item.turn + 1),
      String(item.age),
    ];
    cells.forEach((text, i) => {
      const cell = document.createElement("td");
      if (i === 0) cell.className = "token";
      if (i === 2) {
        const bar = document.createElement("span");
        bar.className = "bar";
        bar.style.width = Math.max(2, Math.round(item.strength * 60)) + "px";
        cell.appendChild(bar);
        cell.appendChild(document.createTextNode(item.strength.toFixed(3)));
      } else {
        cell.textContent = text;
      }
      row.appendChild(cell);
    });
    body.appendChild(row);
  }
}

async function decay() {
  const cycles = parseInt($("decay-cycles").value, 10);
  try {
    await api(`/v1/memory/${encodeURIComponent(userId())}/decay`, { method: "POST", body: JSON.stringify({ cycles }) });
    status("");
  } catch (err) { status(String(err.message || err)); }
  refreshMemory();
}

async function forget() {
  if (!confirm(`Forget everything ${userId()} said?`)) return;
  try {
    await api(`/v1/memory/${encodeURIComponent(userId())}`, { method: "DELETE" });
    status("");
  } catch (err) { status(String(err.message || err)); }
  refreshMemory();
}

async function exportMemory(event) {
  event.preventDefault();
  try {
    const blob = await (await api(`/v1/memory/${encodeURIComponent(userId())}/export`)).blob();
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = userId() + ".safetensors";
    link.click();
    URL.revokeObjectURL(link.href);
  } catch (err) { status(String(err.message || err)); }
}

async function loadModels() {
  try {
    const models = await (await api("/v1/models")).json();
    const select = $("model");
    const previous = select.value;
    select.innerHTML = "";
    for (const model of models.data) {
      const option = document.createElement("option");
      option.value = model.id;
      option.textContent = model.id.startsWith("seam-") ? `${model.id} (memory)` : `${model.id} (no memory)`;
      select.appendChild(option);
    }
    if (previous) select.value = previous;
    status("");
  } catch (err) { status(String(err.message || err)); }
}

// -- wiring -------------------------------------------------------------------------------------------------
function remember(id) {
  const saved = localStorage.getItem("seam." + id);
  if (saved !== null) $(id).value = saved;
  $(id).addEventListener("change", () => localStorage.setItem("seam." + id, $(id).value));
}

window.addEventListener("DOMContentLoaded", () => {
  remember("user");
  remember("api-key");
  $("composer").addEventListener("submit", send);
  $("message").addEventListener("keydown", (e) => { if (e.key === "Enter" && !e.shiftKey) send(e); });
  $("new-conversation").addEventListener("click", newConversation);
  $("decay").addEventListener("click", decay);
  $("forget").addEventListener("click", forget);
  $("export").addEventListener("click", exportMemory);
  $("layer").addEventListener("change", refreshMemory);
  $("user").addEventListener("change", () => { newConversation(); refreshMemory(); });
  $("api-key").addEventListener("change", () => { loadModels(); refreshMemory(); });
  loadModels();
  refreshMemory();
  setInterval(() => { if (!document.hidden && !state.busy) refreshMemory(); }, 5000);
});
