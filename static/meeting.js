// Confab meeting client: joins a room over the signalling WebSocket and exchanges media with the
// SFU through one RTCPeerConnection. Protocol: docs/signalling.md.
(function () {
  "use strict";
  const root = document.getElementById("meeting");
  if (!root) return;
  const code = root.dataset.code;
  const params = new URLSearchParams(location.search);
  const state = { ws: null, pc: null, me: null, participants: new Map(), tracks: new Map(), local: null };
  window.confab = state;

  const $ = (id) => document.getElementById(id);
  const status = (text) => { $("status").textContent = text; };

  function send(message) {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(message));
  }

  function tileFor(participantId) {
    let tile = document.querySelector(`[data-participant="${participantId}"]`);
    if (!tile) {
      tile = document.createElement("figure");
      tile.className = "tile";
      tile.dataset.participant = participantId;
      const video = document.createElement("video");
      video.autoplay = true;
      video.playsInline = true;
      if (participantId === state.me) video.muted = true;
      const caption = document.createElement("figcaption");
      tile.append(video, caption);
      $("grid").append(tile);
    }
    const who = state.participants.get(participantId);
    tile.querySelector("figcaption").textContent = participantId === state.me ? "You" : (who ? who.name : "");
    return tile;
  }

  async function localMedia() {
    const mute = (params.get("mute") || "").split(",");
    const wantAudio = !mute.includes("mic");
    const wantVideo = !mute.includes("camera");
    if (!wantAudio && !wantVideo) return null;
    try {
      return await navigator.mediaDevices.getUserMedia({ audio: wantAudio, video: wantVideo });
    } catch (err) {
      status("Camera or microphone unavailable: joining to listen and watch.");
      return null;
    }
  }

  async function connectMedia() {
    const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", iceServers: state.iceServers || [] });
    state.pc = pc;
    const sources = {};
    if (state.local) {
      for (const track of state.local.getTracks()) {
        pc.addTrack(track, state.local);
        sources[track.id] = track.kind === "audio" ? "microphone" : "camera";
      }
      tileFor(state.me).querySelector("video").srcObject = state.local;
    } else {
      pc.addTransceiver("video", { direction: "recvonly" });
      pc.addTransceiver("audio", { direction: "recvonly" });
    }
    pc.ontrack = (event) => {
      const stream = event.streams[0];
      if (!stream) return;
      const video = tileFor(stream.id).querySelector("video");
      if (video.srcObject !== stream) video.srcObject = stream;
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "connected") status("Connected");
      if (pc.connectionState === "failed") status("Media connection failed");
    };
    await pc.setLocalDescription(await pc.createOffer());
    send({ type: "offer", sdp: pc.localDescription.sdp, sources });
  }

  async function onMessage(message) {
    switch (message.type) {
      case "joined":
        state.me = message.participant_id;
        state.iceServers = message.ice_servers;
        state.role = message.role;
        // Guests of a presentation or lecture start with their microphone off.
        if (message.role === "guest" && message.room.mute_mode !== "conversation" && state.local) {
          state.local.getAudioTracks().forEach((t) => { t.enabled = false; });
          send({ type: "media_state", audio_muted: true });
        }
        for (const p of message.participants) state.participants.set(p.participant_id, p);
        $("prejoin").hidden = true;
        $("room").hidden = false;
        await connectMedia();
        break;
      case "answer":
        await state.pc.setRemoteDescription({ type: "answer", sdp: message.sdp });
        break;
      case "offer":
        await state.pc.setRemoteDescription({ type: "offer", sdp: message.sdp });
        await state.pc.setLocalDescription(await state.pc.createAnswer());
        send({ type: "answer", sdp: state.pc.localDescription.sdp });
        break;
      case "track":
        state.tracks.set(message.track_id, message);
        break;
      case "participant_joined":
        state.participants.set(message.participant.participant_id, message.participant);
        break;
      case "participant_updated":
        state.participants.set(message.participant.participant_id, message.participant);
        tileFor(message.participant.participant_id);
        break;
      case "participant_left": {
        state.participants.delete(message.participant_id);
        const tile = document.querySelector(`[data-participant="${message.participant_id}"]`);
        if (tile) tile.remove();
        break;
      }
      case "dominant_speaker":
        document.querySelectorAll(".tile.speaking").forEach((t) => t.classList.remove("speaking"));
        tileFor(message.participant_id).classList.add("speaking");
        break;
      case "ended":
      case "removed":
        leave(message.type === "ended" ? "The meeting has ended." : "You were removed from the meeting.");
        break;
      case "error":
        status(message.message);
        break;
    }
  }

  function leave(text) {
    send({ type: "leave" });
    if (state.pc) state.pc.close();
    if (state.local) state.local.getTracks().forEach((t) => t.stop());
    if (state.ws) state.ws.close();
    $("room").hidden = true;
    $("left").hidden = false;
    $("left-text").textContent = text;
    // Set only for a signed-in host, from its `/auth` sign-in (validated as an http(s) URL there).
    if (root.dataset.afterCallUrl) location.href = root.dataset.afterCallUrl;
  }

  async function join(name) {
    state.local = await localMedia();
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/conf/call/${encodeURIComponent(code)}/ws`);
    state.ws = ws;
    ws.onopen = () => {
      const join = { type: "join", name };
      if (params.get("pin")) join.pin = params.get("pin");
      if (params.get("moderator_pin")) join.moderator_pin = params.get("moderator_pin");
      if (params.get("mod")) join.moderator_token = params.get("mod");
      send(join);
    };
    ws.onmessage = (event) => onMessage(JSON.parse(event.data)).catch((err) => status(String(err)));
    ws.onclose = () => { if (!$("left").hidden) return; status("Disconnected"); };
  }

  $("join-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = $("name").value.trim();
    if (name) join(name);
  });
  $("leave").addEventListener("click", () => leave("You left the meeting."));
  $("name").value = params.get("name") || $("name").value;
  if (params.get("skip_join") === "1" && $("name").value.trim()) join($("name").value.trim());
})();
