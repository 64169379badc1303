// Live stream player: watches a meeting as a hidden, receive-only viewer (docs/livestream.md).
// The dominant speaker's camera, or a screen share when there is one, fills the player; every
// participant's audio plays, muted until the visitor clicks (browsers block audible autoplay).
(function () {
  "use strict";
  const root = document.getElementById("livestream");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const code = root.dataset.code;

  /** Everything the player knows; exposed as window.livestream for embedding and tests. */
  const state = {
    ws: null, pc: null, me: null, iceServers: [], pin: params.get("pin") || "",
    participants: new Map(),   // participant id → view from the server
    announced: new Map(),      // forwarded track id → `track` message
    video: new Map(),          // "<participant>:camera|screen" → MediaStreamTrack
    speaker: null, onStage: null, muted: true, wasLive: false, ended: false,
    retries: 0, retryTimer: null, queue: Promise.resolve(),
  };
  window.livestream = state;

  const send = (message) => {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(message));
  };

  // ---- What the visitor sees ---------------------------------------------------------------

  const NOTICES = {
    connecting: ["Connecting…", ""],
    waiting: ["Waiting for the meeting to start", "The stream begins when the first person joins."],
    ended: ["The meeting has ended", "Thank you for watching."],
    live: ["", ""],
    "no-video": ["Live", "Nobody is showing video right now; you can still listen."],
    full: ["This live stream is full", "Trying again shortly…"],
    pin: ["This meeting needs its PIN", ""],
  };

  function show(view, detail) {
    root.dataset.state = view;
    const [title, text] = NOTICES[view] || NOTICES.connecting;
    $("notice").hidden = view === "live";
    $("notice-title").textContent = title;
    $("notice-text").textContent = detail || text;
    $("live-badge").hidden = !(view === "live" || view === "no-video");
    if ($("pin-form")) $("pin-form").hidden = view !== "pin";
  }

  function refresh() {
    if (state.participants.size > 0) {
      state.wasLive = true;
      state.ended = false;
    }
    const pick = pickStage();
    if (pick !== state.onStage) {
      state.onStage = pick;
      const track = pick && state.video.get(pick);
      $("stage").srcObject = track ? new MediaStream([track]) : null;
    }
    const who = state.onStage && state.participants.get(state.onStage.split(":")[0]);
    $("caption").hidden = !who;
    $("caption").textContent = who ? (state.onStage.endsWith(":screen") ? `${who.name} — screen` : who.name) : "";
    if (!state.me) return;
    if (state.participants.size === 0) show(state.ended || state.wasLive ? "ended" : "waiting");
    else show(state.onStage ? "live" : "no-video");
  }

  /** A screen share takes the stage; otherwise the dominant speaker, else anyone with video. */
  function pickStage() {
    const keys = [...state.video.keys()];
    const present = (key) => state.participants.has(key.split(":")[0]);
    const screen = keys.find((key) => key.endsWith(":screen") && present(key));
    if (screen) return screen;
    const speaker = `${state.speaker}:camera`;
    if (state.video.has(speaker) && present(speaker)) return speaker;
    if (state.onStage && state.video.has(state.onStage) && present(state.onStage)) return state.onStage;
    return keys.find(present) || null;
  }

  function watching(count) {
    $("watching").hidden = !count;
    $("watching").textContent = `${count} watching`;
  }

  function setMuted(muted) {
    state.muted = muted;
    for (const audio of $("sound").querySelectorAll("audio")) {
      audio.muted = muted;
      if (!muted) audio.play().catch(() => {});
    }
    $("unmute").textContent = muted ? "Click to unmute" : "Mute";
    $("unmute").setAttribute("aria-pressed", String(!muted));
  }

  // ---- Media ---------------------------------------------------------------------------------

  async function connectMedia() {
    const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", iceServers: state.iceServers });
    state.pc = pc;
    // A viewer only receives: the server refuses offers that would send.
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    pc.ontrack = (event) => {
      // Only announced tracks are someone's media: the server announces every track before the
      // offer that adds it, and the player's own receive-only sections also fire ontrack.
      const info = MeetingRtc.announcedTrack(pc, event, state.announced);
      if (!info) return;
      const participant = info.participant_id;
      const track = event.track;
      if (track.kind === "audio") {
        // One element per forwarded track, even when a renegotiation fires ontrack again.
        const id = info.track_id;
        let audio = [...$("sound").children].find((a) => a.dataset.track === id);
        if (!audio) {
          audio = document.createElement("audio");
          audio.autoplay = true;
          audio.muted = state.muted;
          audio.dataset.track = id;
          $("sound").append(audio);
        }
        audio.srcObject = new MediaStream([track]);
        track.onended = () => audio.remove();
      } else {
        const key = `${participant}:${info.source === "screen" ? "screen" : "camera"}`;
        state.video.set(key, track);
        track.onended = () => { if (state.video.get(key) === track) state.video.delete(key); refresh(); };
      }
      refresh();
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "connected") state.retries = 0;
      if (pc.connectionState === "failed") reconnect();
    };
    await pc.setLocalDescription(await pc.createOffer());
    send({ type: "offer", sdp: pc.localDescription.sdp });
  }

  function dropTrack(trackId) {
    const info = state.announced.get(trackId);
    state.announced.delete(trackId);
    $("sound").querySelectorAll("audio").forEach((a) => { if (a.dataset.track === trackId) a.remove(); });
    if (info && info.kind === "video") state.video.delete(`${info.participant_id}:${info.source === "screen" ? "screen" : "camera"}`);
    refresh();
  }

  // ---- Signalling ------------------------------------------------------------------------------

  async function handle(message) {
    switch (message.type) {
      case "joined":
        state.me = message.participant_id;
        state.iceServers = message.ice_servers || [];
        for (const p of message.participants) state.participants.set(p.participant_id, p);
        watching(message.viewers);
        await connectMedia();
        refresh();
        break;
      case "answer":
      case "offer":
        await MeetingRtc.negotiate(state.pc, message, send);
        break;
      case "track":
        state.announced.set(message.track_id, message);
        break;
      case "track_removed":
        dropTrack(message.track_id);
        break;
      case "participant_joined":
      case "participant_updated":
        state.participants.set(message.participant.participant_id, message.participant);
        refresh();
        break;
      case "participant_left":
        state.participants.delete(message.participant_id);
        for (const key of [...state.video.keys()]) if (key.startsWith(`${message.participant_id}:`)) state.video.delete(key);
        refresh();
        break;
      case "dominant_speaker":
        state.speaker = message.participant_id;
        refresh();
        break;
      case "viewers":
        watching(message.count);
        break;
      case "ended":
        // The server closes the connection; come back later for the room's next meeting.
        state.ended = true;
        teardown();
        show("ended");
        retryLater(15000);
        break;
      case "error":
        onError(message);
        break;
    }
  }

  function onError(message) {
    if (message.code === "invalid_pin") {
      teardown();
      show("pin", state.pin ? "That PIN is not right." : "");
      if ($("pin-error")) { $("pin-error").hidden = !state.pin; $("pin-error").textContent = "That PIN is not right."; }
      return;
    }
    if (message.code === "livestream_full") {
      teardown();
      show("full", `${message.message}.`);
      retryLater(30000);
      return;
    }
    if (message.code === "media_lost") reconnect();
  }

  // ---- Connecting and reconnecting -------------------------------------------------------------

  function connect() {
    clearTimeout(state.retryTimer);
    const ws = MeetingRtc.openSocket(code);
    state.ws = ws;
    ws.onopen = () => {
      const join = { type: "join", role: "viewer" };
      if (state.pin) join.pin = state.pin;
      send(join);
    };
    ws.onmessage = (event) => {
      const message = JSON.parse(event.data);
      // One at a time: an `answer` is often followed at once by an `offer`.
      state.queue = state.queue.then(() => handle(message)).catch(() => reconnect());
    };
    ws.onclose = () => { if (state.ws === ws) reconnect(); };
  }

  function teardown() {
    const { ws, pc } = state;
    state.ws = null;
    state.pc = null;
    if (ws) { ws.onclose = null; ws.close(); }
    if (pc) pc.close();
    $("sound").replaceChildren();
    $("stage").srcObject = null;
    state.participants.clear();
    state.announced.clear();
    state.video.clear();
    state.onStage = null;
    state.me = null;
    state.queue = Promise.resolve();
  }

  /** After a drop: join again, waiting a little longer each time (up to 10 s), for as long as the page is open. */
  function reconnect() {
    teardown();
    if (!state.ended) show("connecting", "The connection dropped; reconnecting…");
    state.retries += 1;
    retryLater(Math.min(1000 * state.retries, 10000));
  }

  function retryLater(ms) {
    clearTimeout(state.retryTimer);
    state.retryTimer = setTimeout(connect, ms);
  }

  // ---- Controls --------------------------------------------------------------------------------

  $("unmute").addEventListener("click", () => setMuted(!state.muted));
  // The company may hide the button (server side); an embedder may too, with `?hideButtons=fullscreen`.
  const hideButtons = (params.get("hideButtons") || "").split(",").map((b) => b.trim());
  if ($("fullscreen") && hideButtons.includes("fullscreen")) $("fullscreen").remove();
  if ($("fullscreen")) {
    $("fullscreen").addEventListener("click", () => {
      if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
      else if ($("player").requestFullscreen) $("player").requestFullscreen().catch(() => {});
    });
  }
  if ($("pin-form")) {
    $("pin-form").addEventListener("submit", (event) => {
      event.preventDefault();
      state.pin = $("pin").value.trim();
      if (!state.pin) return;
      show("connecting");
      connect();
    });
  }

  if (root.dataset.needsPin && !state.pin) show("pin");
  else connect();
})();
