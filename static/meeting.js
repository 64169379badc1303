// Meeting room client: pre-join with device preview, then the room over the signalling WebSocket
// (docs/signalling.md) and one RTCPeerConnection to the SFU. Plain JavaScript, no dependencies.
(function () {
  "use strict";
  const root = document.getElementById("meeting");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const code = root.dataset.code;
  const muteParam = (params.get("mute") || "").split(",");
  const flagParam = (key) => ["1", "true", "yes"].includes((params.get(key) || "").toLowerCase());
  // Embedding options (docs/embedding.md): listen-only observers, a send resolution cap, a tile cap.
  const observer = flagParam("observer");
  const maxHeight = Math.min(Math.max(parseInt(params.get("res") || "", 10) || 0, 0), 2160);
  const maxTiles = Math.max(parseInt(params.get("tiles") || "", 10) || 0, 0);

  /** Everything the page knows; exposed as window.meeting for embedding and tests. */
  const state = {
    ws: null, pc: null, me: null, role: null, name: "", iceServers: [],
    participants: new Map(),   // participant id → view from the server
    trackInfo: new Map(),      // forwarded track id → {participant_id, source}
    tiles: new Map(),          // tile key → {el, stream}
    local: null, screen: null, screenSender: null,
    audioOn: !muteParam.includes("mic") && !flagParam("startWithAudioMuted") && !observer,
    videoOn: !muteParam.includes("camera") && !flagParam("startWithVideoMuted") && !observer,
    observer, listeners: [], actions: {}, reported: null,
    hand: false, locked: false, unread: 0, speaker: null, view: params.get("view") === "speaker" ? "speaker" : "gallery",
    leaving: false, reconnects: 0, queue: Promise.resolve(),
    reconnections: 0,          // automatic reconnections since the page opened (reconnects resets)
  };
  window.meeting = state;

  /** Tells the embedding bridge (static/embed.js) and any other listener what happened. */
  const emit = (name, data) => {
    for (const listener of state.listeners) {
      try { listener(name, data || {}); } catch (_) { /* a listener's failure is not the meeting's */ }
    }
  };

  const status = (text) => { $("status").textContent = text || ""; };
  const send = (message) => {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(message));
  };
  if (params.get("strip_layout") === "1") { root.classList.add("strip"); document.body.classList.add("strip-page"); }
  if (flagParam("hideLogo")) document.body.classList.add("hide-logo");
  // A class rather than `hidden`: joining unhides the host-only buttons by role.
  const controlAliases = { "participants-pane": "participants", "mute-video-everyone": "mute-everyone" }; // imMail's names
  const hiddenControls = new Set((params.get("hideButtons") || "").split(",").map((b) => b.trim()).filter(Boolean)
    .map((b) => controlAliases[b] || b));
  // The company's own hidden controls (theme settings) join the embedder's.
  (root.dataset.hiddenControls || "").split(",").map((b) => b.trim()).filter(Boolean).forEach((c) => hiddenControls.add(c));
  // Observers join as hidden live stream viewers (docs/livestream.md): they cannot chat or raise a hand.
  if (observer) ["microphone", "camera", "desktop", "raisehand", "settings", "chat"].forEach((c) => hiddenControls.add(c));
  document.querySelectorAll("[data-control]").forEach((el) => {
    if (hiddenControls.has(el.dataset.control)) el.classList.add("control-hidden");
  });

  // ---- Pre-join: preview and devices -------------------------------------------------------

  async function openLocalMedia(cameraId, micId) {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return { stream: null, note: "This browser cannot use a camera or microphone here: you can still join to listen, watch and chat." };
    }
    if (observer) return { stream: null, note: "You are joining to listen and watch." };
    const video = cameraId ? { deviceId: { exact: cameraId } } : {};
    if (maxHeight) video.height = { ideal: maxHeight, max: maxHeight };
    const audio = micId ? { deviceId: { exact: micId } } : true;
    try {
      return { stream: await navigator.mediaDevices.getUserMedia({ audio, video }), note: "" };
    } catch (err) {
      emit("error", { kind: "camera", name: err && err.name, message: err && err.message });
      try { // Maybe only one of the two is available.
        return { stream: await navigator.mediaDevices.getUserMedia({ audio }), note: "No camera available: joining with microphone only." };
      } catch (micErr) {
        emit("error", { kind: "microphone", name: micErr && micErr.name, message: micErr && micErr.message });
        const denied = err && err.name === "NotAllowedError";
        return { stream: null, note: denied
          ? "Camera and microphone access was denied: you can still join to listen, watch and chat."
          : "No camera or microphone found: you can still join to listen, watch and chat." };
      }
    }
  }

  async function fillDeviceLists() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
    const devices = await navigator.mediaDevices.enumerateDevices();
    const current = (kind) => state.local && state.local.getTracks().find((t) => t.kind === kind);
    for (const [kind, ids] of [["videoinput", ["camera-select", "camera-switch"]], ["audioinput", ["mic-select", "mic-switch"]]]) {
      const track = current(kind === "videoinput" ? "video" : "audio");
      const selected = track && track.getSettings ? track.getSettings().deviceId : "";
      for (const id of ids) {
        const select = $(id);
        select.replaceChildren();
        devices.filter((d) => d.kind === kind).forEach((d, i) => {
          const option = new Option(d.label || `${kind === "videoinput" ? "Camera" : "Microphone"} ${i + 1}`, d.deviceId);
          option.selected = d.deviceId === selected;
          select.append(option);
        });
      }
    }
  }

  function applyToggles() {
    if (state.local) {
      state.local.getAudioTracks().forEach((t) => { t.enabled = state.audioOn; });
      state.local.getVideoTracks().forEach((t) => { t.enabled = state.videoOn; });
    }
    for (const [id, on, onText, offText] of [
      ["pre-mic", state.audioOn, "Microphone on", "Microphone off"], ["pre-cam", state.videoOn, "Camera on", "Camera off"],
      ["ctl-mic", state.audioOn, "Mute", "Unmute"], ["ctl-cam", state.videoOn, "Stop video", "Start video"],
    ]) {
      $(id).setAttribute("aria-pressed", String(on));
      $(id).textContent = on ? onText : offText;
    }
    reportMuteState();
  }

  /** Emits audio/video mute changes once in the meeting, each change once. */
  function reportMuteState() {
    if (!state.me || !state.reported) return;
    if (state.reported.audio !== state.audioOn) emit("audioMuteStatusChanged", { muted: !state.audioOn });
    if (state.reported.video !== state.videoOn) emit("videoMuteStatusChanged", { muted: !state.videoOn });
    state.reported = { audio: state.audioOn, video: state.videoOn };
  }

  async function startPreview(cameraId, micId) {
    if (state.local) state.local.getTracks().forEach((t) => t.stop());
    const { stream, note } = await openLocalMedia(cameraId, micId);
    state.local = stream;
    $("preview").srcObject = stream;
    $("preview-note").hidden = !note;
    $("preview-note").textContent = note;
    applyToggles();
    await fillDeviceLists();
  }

  // ---- Tiles -------------------------------------------------------------------------------

  function nameOf(id) {
    if (id === state.me) return `${state.name} (you)`;
    const p = state.participants.get(id);
    return p ? p.name : "";
  }

  function tile(key, participantId, isScreen) {
    let entry = state.tiles.get(key);
    if (!entry) {
      const el = document.createElement("figure");
      el.className = "tile" + (isScreen ? " screen" : "") + (participantId === state.me && !isScreen ? " local" : "");
      el.dataset.participant = participantId;
      const video = document.createElement("video");
      video.autoplay = true;
      video.playsInline = true;
      video.muted = participantId === state.me;
      if (state.audioOutput && typeof video.setSinkId === "function") video.setSinkId(state.audioOutput).catch(() => {});
      const avatar = document.createElement("div");
      avatar.className = "avatar";
      avatar.setAttribute("aria-hidden", "true");
      const caption = document.createElement("figcaption");
      el.append(avatar, video, caption);
      $("grid").append(el);
      entry = { el, stream: new MediaStream() };
      video.srcObject = entry.stream;
      state.tiles.set(key, entry);
    }
    refreshTile(key);
    return entry;
  }

  function refreshTile(key) {
    const entry = state.tiles.get(key);
    if (!entry) return;
    const id = entry.el.dataset.participant;
    const isScreen = entry.el.classList.contains("screen");
    const p = id === state.me ? { audio_muted: !state.audioOn, video_muted: !state.videoOn, hand_raised: state.hand } : state.participants.get(id) || {};
    const caption = entry.el.querySelector("figcaption");
    caption.replaceChildren();
    const label = document.createElement("span");
    label.textContent = isScreen ? `${nameOf(id)} — screen` : nameOf(id);
    caption.append(label);
    if (!isScreen && p.audio_muted) caption.append(flag("muted", "Microphone off"));
    if (!isScreen && p.hand_raised) caption.append(flag("✋", "Hand raised"));
    entry.el.querySelector(".avatar").textContent = !isScreen && p.video_muted ? (nameOf(id)[0] || "?").toUpperCase() : "";
    entry.el.querySelector("video").style.visibility = !isScreen && p.video_muted ? "hidden" : "visible";
    entry.el.classList.toggle("speaking", id === state.speaker && !isScreen);
  }

  function flag(text, label) {
    const span = document.createElement("span");
    span.className = "flag";
    span.textContent = text;
    span.setAttribute("aria-label", label);
    return span;
  }

  function removeParticipantTiles(id) {
    for (const [key, entry] of state.tiles) {
      if (entry.el.dataset.participant === id) { entry.el.remove(); state.tiles.delete(key); }
    }
    layout();
  }

  function layout() {
    const grid = $("grid");
    const hasScreen = [...state.tiles.values()].some((t) => t.el.classList.contains("screen"));
    grid.classList.toggle("has-screen", hasScreen && state.view === "gallery");
    grid.classList.toggle("speaker", state.view === "speaker");
    const featuredKey = [...state.tiles.keys()].find((k) => k.endsWith(":screen"))
      || (state.speaker && state.speaker !== state.me ? `${state.speaker}:camera` : [...state.tiles.keys()].find((k) => !k.startsWith(`${state.me}:`)));
    for (const [key, entry] of state.tiles) entry.el.classList.toggle("featured", state.view === "speaker" && key === featuredKey);
    if (maxTiles) {
      // Screen shares and the speaker view's featured tile always show; camera tiles fill the rest.
      const always = (key, entry) => entry.el.classList.contains("screen") || (state.view === "speaker" && key === featuredKey);
      let room = maxTiles - [...state.tiles].filter(([key, entry]) => always(key, entry)).length;
      for (const [key, entry] of state.tiles) {
        const keep = always(key, entry) || room-- > 0;
        entry.el.classList.toggle("over-cap", !keep);
      }
    }
    $("ctl-view").textContent = state.view === "speaker" ? "Gallery view" : "Speaker view";
  }

  // ---- Media connection --------------------------------------------------------------------

  async function connectMedia() {
    const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", iceServers: state.iceServers || [] });
    state.pc = pc;
    const sources = {};
    if (state.local) {
      for (const track of state.local.getTracks()) {
        pc.addTrack(track, state.local);
        sources[track.id] = track.kind === "audio" ? "microphone" : "camera";
      }
      const own = tile(`${state.me}:camera`, state.me, false);
      state.local.getVideoTracks().forEach((t) => own.stream.addTrack(t));
    } else {
      pc.addTransceiver("video", { direction: "recvonly" });
      pc.addTransceiver("audio", { direction: "recvonly" });
    }
    pc.ontrack = (event) => {
      const info = MeetingRtc.announcedTrack(pc, event, state.trackInfo);
      const participantId = info ? info.participant_id : (event.streams[0] && event.streams[0].id);
      if (!participantId) return;
      const isScreen = info && info.source === "screen";
      const entry = tile(`${participantId}:${isScreen ? "screen" : "camera"}`, participantId, isScreen);
      entry.stream.addTrack(event.track);
      event.track.onended = () => entry.stream.removeTrack(event.track);
      layout();
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "connected") { status(""); state.reconnects = 0; }
      if (pc.connectionState === "failed" && !state.leaving) reconnect("The media connection failed");
    };
    await pc.setLocalDescription(await pc.createOffer());
    send({ type: "offer", sdp: pc.localDescription.sdp, sources });
  }

  function renegotiate(sources, attempt = 0) {
    // Through the message queue, so the offer never interleaves with a server offer being
    // applied; while an exchange is under way it is retried shortly after.
    const step = async () => {
      const pc = state.pc;
      if (!pc) return;
      if (pc.signalingState !== "stable") {
        if (attempt < 25) setTimeout(() => renegotiate(sources, attempt + 1), 200);
        return;
      }
      await pc.setLocalDescription(await pc.createOffer());
      send({ type: "offer", sdp: pc.localDescription.sdp, sources });
    };
    state.queue = state.queue.then(step, step);
    return state.queue;
  }

  async function toggleScreen() {
    if (state.screen) return stopScreen();
    if (!navigator.mediaDevices || !navigator.mediaDevices.getDisplayMedia) { status("Screen sharing is not available in this browser"); return; }
    let stream;
    try { stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false }); } catch (_) { return; }
    const track = stream.getVideoTracks()[0];
    state.screen = stream;
    // A new send-only m-line: addTrack could reuse a line the server offered for someone else.
    state.screenTransceiver = state.pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
    state.screenSender = state.screenTransceiver.sender;
    track.onended = () => stopScreen();
    const own = tile(`${state.me}:screen`, state.me, true);
    own.stream.addTrack(track);
    layout();
    $("ctl-screen").setAttribute("aria-pressed", "true");
    $("ctl-screen").textContent = "Stop sharing";
    send({ type: "media_state", screen_sharing: true });
    emit("screenSharingStatusChanged", { on: true });
    await renegotiate({ [track.id]: "screen" });
  }

  async function stopScreen() {
    if (!state.screen) return;
    state.screen.getTracks().forEach((t) => t.stop());
    if (state.screenTransceiver) {
      await state.screenTransceiver.sender.replaceTrack(null);
      state.screenTransceiver.direction = "inactive";
    }
    state.screen = null;
    state.screenSender = null;
    state.screenTransceiver = null;
    const entry = state.tiles.get(`${state.me}:screen`);
    if (entry) { entry.el.remove(); state.tiles.delete(`${state.me}:screen`); }
    layout();
    $("ctl-screen").setAttribute("aria-pressed", "false");
    $("ctl-screen").textContent = "Share screen";
    send({ type: "media_state", screen_sharing: false });
    emit("screenSharingStatusChanged", { on: false });
    await renegotiate({});
  }

  async function switchDevice(kind, deviceId) {
    const constraints = kind === "video" ? { video: { deviceId: { exact: deviceId } } } : { audio: { deviceId: { exact: deviceId } } };
    let fresh;
    if (kind === "video" && maxHeight) constraints.video.height = { ideal: maxHeight, max: maxHeight };
    try { fresh = (await navigator.mediaDevices.getUserMedia(constraints)).getTracks()[0]; } catch (err) {
      status(`Cannot use that device: ${err.message}`);
      emit("error", { kind: kind === "video" ? "camera" : "microphone", name: err.name, message: err.message });
      return false;
    }
    fresh.enabled = kind === "video" ? state.videoOn : state.audioOn;
    const old = state.local && state.local.getTracks().find((t) => t.kind === kind);
    const sender = state.pc && state.pc.getSenders().find((s) => s.track && s.track.kind === kind && s !== state.screenSender);
    if (sender) await sender.replaceTrack(fresh);
    if (old) { state.local.removeTrack(old); old.stop(); }
    if (state.local) state.local.addTrack(fresh);
    const own = state.tiles.get(`${state.me}:camera`);
    if (own && kind === "video") { own.stream.getVideoTracks().forEach((t) => own.stream.removeTrack(t)); own.stream.addTrack(fresh); }
    return true;
  }

  // ---- Signalling --------------------------------------------------------------------------

  function onMessage(message) {
    // Messages are handled one at a time: SDP steps must not interleave.
    state.queue = state.queue.then(() => handle(message)).catch((err) => status(String(err)));
  }

  async function handle(message) {
    switch (message.type) {
      case "joined":
        state.me = message.participant_id;
        state.role = message.role;
        state.iceServers = message.ice_servers || [];
        for (const p of message.participants) state.participants.set(p.participant_id, p);
        showViewers(message.viewers);
        if (message.role === "guest" && message.room.mute_mode !== "conversation") state.audioOn = false;
        applyToggles();
        $("prejoin").hidden = true;
        $("room").hidden = false;
        document.querySelectorAll(".host-only").forEach((el) => { el.hidden = state.role !== "moderator"; });
        await connectMedia();
        if (!observer) send({ type: "media_state", audio_muted: !state.audioOn, video_muted: !state.videoOn });
        for (const p of message.participants) tile(`${p.participant_id}:camera`, p.participant_id, false);
        renderPeople();
        layout();
        state.reported = { audio: state.audioOn, video: state.videoOn };
        emit("videoConferenceJoined", {
          roomName: code, id: state.me, displayName: state.name, role: state.role,
          audioMuted: !state.audioOn, videoMuted: !state.videoOn,
          participants: message.participants.map(participantView),
        });
        break;
      case "answer":
      case "offer":
        await MeetingRtc.negotiate(state.pc, message, send);
        break;
      case "track":
        state.trackInfo.set(message.track_id, message);
        break;
      case "track_removed": {
        const info = state.trackInfo.get(message.track_id);
        state.trackInfo.delete(message.track_id);
        if (info && info.source === "screen") {
          const key = `${message.participant_id}:screen`;
          const entry = state.tiles.get(key);
          if (entry) { entry.el.remove(); state.tiles.delete(key); }
          layout();
        }
        break;
      }
      case "participant_joined":
        state.participants.set(message.participant.participant_id, message.participant);
        tile(`${message.participant.participant_id}:camera`, message.participant.participant_id, false);
        renderPeople();
        layout();
        emit("participantJoined", participantView(message.participant));
        break;
      case "participant_updated":
        state.participants.set(message.participant.participant_id, message.participant);
        refreshTile(`${message.participant.participant_id}:camera`);
        renderPeople();
        break;
      case "participant_left":
        state.participants.delete(message.participant_id);
        removeParticipantTiles(message.participant_id);
        renderPeople();
        emit("participantLeft", { id: message.participant_id });
        break;
      case "dominant_speaker":
        state.speaker = message.participant_id;
        for (const key of state.tiles.keys()) refreshTile(key);
        layout();
        emit("dominantSpeakerChanged", { id: message.participant_id });
        break;
      case "chat":
        addChat(message);
        break;
      case "viewers":
        showViewers(message.count);
        break;
      case "muted_by_moderator":
        state.audioOn = false;
        applyToggles();
        status("A moderator muted your microphone");
        break;
      case "room_locked":
        state.locked = message.locked;
        $("ctl-lock").setAttribute("aria-pressed", String(state.locked));
        $("ctl-lock").textContent = state.locked ? "Unlock meeting" : "Lock meeting";
        status(state.locked ? "The meeting is locked" : "The meeting is unlocked");
        break;
      case "ended":
        finish("The meeting has ended", "The host ended the meeting for everyone.", "ended_by_host");
        break;
      case "removed":
        finish("You were removed", "A moderator removed you from the meeting.", "removed");
        break;
      case "error":
        onError(message);
        break;
    }
  }

  function onError(message) {
    if (!state.me) {
      // Refused before joining: back to the form with the reason.
      $("join-error").hidden = false;
      $("join-error").textContent = message.message;
      $("join").disabled = false;
      state.leaving = true;
      emit("error", { kind: "join", code: message.code, message: message.message });
      emit("videoConferenceLeft", { roomName: code, reason: "rejected" });
      return;
    }
    if (message.code === "media_lost") { reconnect(message.message); return; }
    status(message.message);
  }

  /** Live stream viewers (docs/livestream.md) are hidden; the room only sees how many there are. */
  function showViewers(count) {
    $("viewers").hidden = !count;
    $("viewers").textContent = `${count} watching`;
  }

  function addChat(message) {
    const item = document.createElement("li");
    const from = document.createElement("div");
    from.className = "from";
    from.textContent = message.participant_id === state.me ? "You" : message.name;
    const text = document.createElement("div");
    text.textContent = message.text;
    item.append(from, text);
    $("chat-log").append(item);
    item.scrollIntoView({ block: "end" });
    const own = message.participant_id === state.me;
    emit(own ? "outgoingMessage" : "incomingMessage", own
      ? { message: message.text }
      : { from: message.participant_id, nick: message.name, message: message.text, stamp: message.sent_at });
    if ($("chat-panel").hidden || $("panel").hidden) {
      state.unread += 1;
      $("unread").hidden = false;
      $("unread").textContent = String(state.unread);
    }
  }

  function renderPeople() {
    const list = $("people");
    list.replaceChildren();
    const entries = [[state.me, { name: state.name, role: state.role, audio_muted: !state.audioOn, hand_raised: state.hand }], ...state.participants];
    for (const [id, p] of entries) {
      if (!id) continue;
      const item = document.createElement("li");
      const who = document.createElement("span");
      who.className = "who";
      who.textContent = `${id === state.me ? `${p.name} (you)` : p.name}${p.role === "moderator" ? " · host" : ""}${p.hand_raised ? " ✋" : ""}${p.audio_muted ? " · muted" : ""}`;
      item.append(who);
      if (state.role === "moderator" && id !== state.me) {
        item.append(button(`Mute ${p.name}`, "Mute", () => send({ type: "mute_participant", participant_id: id })));
        item.append(button(`Remove ${p.name}`, "Remove", () => send({ type: "remove_participant", participant_id: id })));
      }
      list.append(item);
    }
  }

  /** A participant as embedders see it (docs/embedding.md). */
  function participantView(p) {
    return { id: p.participant_id, displayName: p.name, role: p.role, audioMuted: !!p.audio_muted, videoMuted: !!p.video_muted };
  }

  function button(label, text, onClick) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.setAttribute("aria-label", label);
    b.addEventListener("click", onClick);
    return b;
  }

  // ---- Joining, leaving, reconnecting ------------------------------------------------------

  function openSocket() {
    const ws = MeetingRtc.openSocket(code);
    state.ws = ws;
    ws.onopen = () => {
      const join = observer ? { type: "join", role: "viewer" } : { type: "join", name: state.name };
      const pin = ($("pin") && $("pin").value.trim()) || params.get("pin");
      if (pin) join.pin = pin;
      if (params.get("moderator_pin")) join.moderator_pin = params.get("moderator_pin");
      if (params.get("mod")) join.moderator_token = params.get("mod");
      send(join);
    };
    ws.onmessage = (event) => onMessage(JSON.parse(event.data));
    ws.onclose = () => { if (!state.leaving && state.me) reconnect("Connection lost"); };
  }

  function join(name) {
    state.name = name;
    state.leaving = false;
    $("join").disabled = true;
    $("join-error").hidden = true;
    openSocket();
  }

  function teardown() {
    if (state.ws) { state.ws.onclose = null; state.ws.close(); }
    if (state.pc) state.pc.close();
    state.ws = null;
    state.pc = null;
    for (const entry of state.tiles.values()) entry.el.remove();
    state.tiles.clear();
    state.participants.clear();
    state.trackInfo.clear();
    state.me = null;
    state.queue = Promise.resolve();
  }

  function reconnect(reason) {
    if (state.leaving) return;
    if (state.reconnects >= 5) { finish("Disconnected", `${reason}. Check your network and rejoin.`, "connection_lost"); return; }
    state.reconnects += 1;
    state.reconnections += 1;
    status(`${reason} — reconnecting…`);
    teardown();
    if (state.screen) { state.screen.getTracks().forEach((t) => t.stop()); state.screen = null; }
    setTimeout(() => { if (!state.leaving) openSocket(); }, 500 * state.reconnects);
  }

  function afterCallUrl() {
    const fromSession = root.dataset.afterCallUrl;
    const fromParam = params.get("after_call_url");
    const url = fromSession || fromParam;
    return url && /^https?:\/\//i.test(url) ? url : null;
  }

  function finish(title, text, reason) {
    const wasIn = !!state.me;
    state.leaving = true;
    send({ type: "leave" });
    teardown();
    if (state.local) state.local.getTracks().forEach((t) => t.stop());
    if (state.screen) state.screen.getTracks().forEach((t) => t.stop());
    if (wasIn || reason !== "left") emit("videoConferenceLeft", { roomName: code, reason });
    emit("readyToClose", { reason });
    // Only a window opened by a script may close itself; inside a frame the parent decides.
    if (flagParam("auto_close") && window.parent === window) window.close();
    const target = afterCallUrl();
    if (target) { location.href = target; return; }
    $("room").hidden = true;
    $("prejoin").hidden = true;
    $("ended").hidden = false;
    $("ended-title").textContent = title;
    $("ended-text").textContent = text;
    root.dataset.leftReason = reason;
    status("");
  }

  // ---- Controls ----------------------------------------------------------------------------

  function togglePanel(part) {
    const panel = $("panel");
    const open = !(!panel.hidden && !$(part).hidden);
    for (const p of ["chat-panel", "people-panel", "settings-panel"]) $(p).hidden = p !== part || !open;
    panel.hidden = !open;
    for (const [id, p] of [["ctl-chat", "chat-panel"], ["ctl-people", "people-panel"], ["ctl-settings", "settings-panel"]]) {
      $(id).setAttribute("aria-pressed", String(open && p === part));
    }
    if (open && part === "chat-panel") { state.unread = 0; $("unread").hidden = true; $("chat-input").focus(); }
  }

  $("pre-mic").addEventListener("click", () => { state.audioOn = !state.audioOn; applyToggles(); });
  $("pre-cam").addEventListener("click", () => { state.videoOn = !state.videoOn; applyToggles(); });
  $("camera-select").addEventListener("change", () => startPreview($("camera-select").value, $("mic-select").value));
  $("mic-select").addEventListener("change", () => startPreview($("camera-select").value, $("mic-select").value));
  $("camera-switch").addEventListener("change", () => switchDevice("video", $("camera-switch").value));
  $("mic-switch").addEventListener("change", () => switchDevice("audio", $("mic-switch").value));
  function toggleAudio() {
    if (!state.me) { state.audioOn = !state.audioOn; applyToggles(); return; }
    state.audioOn = !state.audioOn; applyToggles(); refreshTile(`${state.me}:camera`);
    send({ type: "media_state", audio_muted: !state.audioOn });
  }
  function toggleVideo() {
    if (!state.me) { state.videoOn = !state.videoOn; applyToggles(); return; }
    state.videoOn = !state.videoOn; applyToggles(); refreshTile(`${state.me}:camera`);
    send({ type: "media_state", video_muted: !state.videoOn });
  }
  $("ctl-mic").addEventListener("click", toggleAudio);
  $("ctl-cam").addEventListener("click", toggleVideo);
  $("ctl-screen").addEventListener("click", () => { toggleScreen().catch((err) => status(String(err))); });
  $("ctl-hand").addEventListener("click", () => {
    state.hand = !state.hand;
    $("ctl-hand").setAttribute("aria-pressed", String(state.hand));
    $("ctl-hand").textContent = state.hand ? "Lower hand" : "Raise hand";
    refreshTile(`${state.me}:camera`);
    send({ type: "raise_hand", raised: state.hand });
  });
  $("ctl-chat").addEventListener("click", () => togglePanel("chat-panel"));
  $("ctl-people").addEventListener("click", () => { renderPeople(); togglePanel("people-panel"); });
  $("ctl-settings").addEventListener("click", () => { fillDeviceLists(); togglePanel("settings-panel"); });
  $("ctl-view").addEventListener("click", () => { state.view = state.view === "speaker" ? "gallery" : "speaker"; layout(); });
  $("ctl-mute-all").addEventListener("click", () => send({ type: "mute_all" }));
  $("ctl-lock").addEventListener("click", () => send({ type: "lock_room", locked: !state.locked }));
  $("ctl-end").addEventListener("click", () => send({ type: "end_meeting" }));
  $("ctl-leave").addEventListener("click", () => finish("You left the meeting", "", "left"));
  $("chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("chat-input").value.trim();
    if (text) send({ type: "chat", text });
    $("chat-input").value = "";
  });

  /** What an embedder may ask for (static/embed.js); each returns an error message or nothing. */
  const inMeeting = () => (state.me ? "" : "not in the meeting");
  const moderator = () => inMeeting() || (state.role === "moderator" ? "" : "only a moderator may do that");
  state.actions = {
    toggleAudio: () => { if (observer) return "observers have no microphone"; toggleAudio(); return ""; },
    toggleVideo: () => { if (observer) return "observers have no camera"; toggleVideo(); return ""; },
    toggleShareScreen: () => (observer ? "observers do not share" : inMeeting() || (toggleScreen().catch((err) => status(String(err))), "")),
    toggleChat: () => (observer ? "observers cannot chat" : inMeeting() || (togglePanel("chat-panel"), "")),
    sendChatMessage: (text) => {
      if (observer) return "observers cannot chat";
      const clean = typeof text === "string" ? text.trim() : "";
      if (!clean || clean.length > 2000) return "the message must have 1 to 2000 characters";
      return inMeeting() || (send({ type: "chat", text: clean }), "");
    },
    hangup: () => { finish("You left the meeting", "", "left"); return ""; },
    endMeeting: () => moderator() || (send({ type: "end_meeting" }), ""),
    muteAll: () => moderator() || (send({ type: "mute_all" }), ""),
    kickParticipant: (id) => moderator() || (state.participants.has(id)
      ? (send({ type: "remove_participant", participant_id: id }), "") : "no such participant"),
    setDisplayName: (name) => {
      // The server fixes a participant's name at join; renaming would need a new join.
      if (state.me) return "the display name cannot change after joining";
      if (typeof name !== "string" || !name.trim() || name.length > 100) return "the name must have 1 to 100 characters";
      $("name").value = name.trim();
      return "";
    },
    setVideoInput: (deviceId) => setDevice("video", deviceId),
    setAudioInput: (deviceId) => setDevice("audio", deviceId),
    setAudioOutput: (deviceId) => {
      const videos = [...document.querySelectorAll("video")];
      if (!videos.length || typeof videos[0].setSinkId !== "function") return "this browser cannot choose the audio output";
      videos.forEach((v) => v.setSinkId(String(deviceId)).catch(() => {}));
      state.audioOutput = String(deviceId);
      return "";
    },
  };

  function setDevice(kind, deviceId) {
    if (typeof deviceId !== "string" || !deviceId) return "a device id is required";
    if (observer) return "observers do not use devices";
    if (!state.me) {
      const select = $(kind === "video" ? "camera-select" : "mic-select");
      select.value = deviceId;
      const cam = kind === "video" ? deviceId : $("camera-select").value;
      const mic = kind === "audio" ? deviceId : $("mic-select").value;
      startPreview(cam, mic);
      return "";
    }
    switchDevice(kind, deviceId);
    return "";
  }

  $("join-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = $("name").value.trim();
    if (name) join(name);
  });

  if (params.get("name")) $("name").value = params.get("name");
  if ($("pin") && params.get("pin")) $("pin").value = params.get("pin");
  if (observer && !$("name").value) $("name").value = "Observer";
  startPreview().then(() => {
    const name = $("name").value.trim();
    if (name && params.get("skip_join") === "1") join(name);
  });
})();
