// The embedding demo (static/embed-demo.html): one meeting through the SDK, buttons wired to
// commands, every event written to a log. Works unchanged on any site once its origin is allowed.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  let api = null;

  function log(text) {
    const item = document.createElement("li");
    item.textContent = `${new Date().toLocaleTimeString()} ${text}`;
    $("log").prepend(item);
  }

  function open(room, name) {
    if (api) api.dispose();
    api = new window.MeetingsExternalAPI({
      domain: location.host,
      noSSL: location.protocol === "http:",
      roomCode: room,
      name,
      parentNode: $("meeting-frame"),
      width: "100%",
      height: 560,
    });
    api.on("*", (data, event) => log(`${event} ${JSON.stringify(data)}`));
    $("commands").hidden = false;
  }

  function run(name, ...args) {
    if (!api) return;
    api.executeCommand(name, ...args).catch((err) => log(`${name} failed: ${err.message}`));
  }

  $("open-form").addEventListener("submit", (event) => {
    event.preventDefault();
    open($("room").value.trim(), $("your-name").value.trim());
  });
  document.querySelectorAll("[data-command]").forEach((button) => {
    button.addEventListener("click", () => run(button.dataset.command));
  });
  $("chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    run("sendChatMessage", $("chat-text").value);
    $("chat-text").value = "";
  });
  $("participants").addEventListener("click", () => {
    if (api) log(`participants ${JSON.stringify(api.getParticipants())}`);
  });
  $("dispose").addEventListener("click", () => {
    if (api) api.dispose();
    api = null;
    $("commands").hidden = true;
  });
  const room = new URLSearchParams(location.search).get("room");
  if (room) { $("room").value = room; }
})();
