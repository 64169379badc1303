// Embedding bridge of the meeting page: takes commands from the page that frames it and posts
// meeting events back to it (protocol in docs/embedding.md). Both directions are limited to the
// company's allowed embed origins — the same list the `frame-ancestors` header is made from — and
// to the direct parent window.
(function () {
  "use strict";
  const PROTOCOL = "meeting-embed";
  const VERSION = 1;
  const LEAVE_TYPE = "meetingLeaveCallEvent";
  const root = document.getElementById("meeting");
  const meeting = window.meeting;
  if (!root || !meeting || window.parent === window) return;

  const params = new URLSearchParams(location.search);
  const allowed = new Set((root.dataset.embedOrigins || "").split(/\s+/).filter(Boolean));
  allowed.add(location.origin); // `frame-ancestors 'self'`: the site itself may always embed.
  /** The parent's origin, once known and allowed; events go nowhere before that. */
  let parentOrigin = null;
  /** Events flow after an SDK handshake or with `events=true`. */
  let eventsOn = ["1", "true"].includes((params.get("events") || "").toLowerCase());

  // With `events=true` a plain iframe gets events without saying hello first: learn the parent's
  // origin from the browser (Chromium, Safari) or the referrer; a wrong guess delivers nothing,
  // because every post names its target origin.
  const guessed = (location.ancestorOrigins && location.ancestorOrigins[0]) || originOf(document.referrer);
  if (guessed && allowed.has(guessed)) parentOrigin = guessed;

  function originOf(url) {
    try { return url ? new URL(url).origin : null; } catch (_) { return null; }
  }

  function post(message) {
    if (!parentOrigin) return;
    window.parent.postMessage(message, parentOrigin);
  }

  function event(name, data) {
    if (!eventsOn) return;
    post({ protocol: PROTOCOL, version: VERSION, kind: "event", name, data });
    // The reference platform's plain leave message, under a brand-neutral type name.
    if (name === "videoConferenceLeft") post({ type: LEAVE_TYPE, reason: data.reason });
  }

  function readyData() {
    return {
      protocolVersion: VERSION,
      roomName: root.dataset.code,
      joined: !!meeting.me,
      id: meeting.me,
      role: meeting.role,
      audioMuted: !meeting.audioOn,
      videoMuted: !meeting.videoOn,
      participants: [...meeting.participants.values()].map((p) => ({
        id: p.participant_id, displayName: p.name, role: p.role,
        audioMuted: !!p.audio_muted, videoMuted: !!p.video_muted,
      })),
    };
  }

  meeting.listeners.push(event);

  const RECORDING = "recording not available";
  function run(name, args) {
    if (name === "startRecording" || name === "stopRecording") {
      event("error", { kind: "recording", message: RECORDING });
      return RECORDING;
    }
    const action = Object.prototype.hasOwnProperty.call(meeting.actions, name) ? meeting.actions[name] : null;
    if (!action) return `unknown command: ${name}`;
    return action(...(Array.isArray(args) ? args : [])) || "";
  }

  window.addEventListener("message", (e) => {
    // Only the direct parent, and only from an allowed origin: a sibling frame or a popup opener
    // on another site must not drive the meeting.
    if (e.source !== window.parent || !allowed.has(e.origin)) return;
    const data = e.data;
    if (!data || typeof data !== "object") return;
    if (data.protocol === PROTOCOL) {
      if (data.version !== VERSION) {
        parentOrigin = e.origin;
        post({ protocol: PROTOCOL, version: VERSION, kind: "event", name: "error",
               data: { kind: "protocol", message: `unsupported protocol version ${data.version}` } });
        return;
      }
      parentOrigin = e.origin;
      if (data.kind === "hello") {
        eventsOn = true;
        post({ protocol: PROTOCOL, version: VERSION, kind: "event", name: "ready", data: readyData() });
      } else if (data.kind === "command" && typeof data.name === "string") {
        const error = run(data.name, data.args);
        post({ protocol: PROTOCOL, version: VERSION, kind: "result", id: data.id, ok: !error, error: error || undefined });
      }
      return;
    }
    // imMail-style plain messages: `{type: "hangup"}`, `{type: "stopRecording"}`.
    if (data.type === "hangup" || data.type === "stopRecording") {
      parentOrigin = parentOrigin || e.origin;
      run(data.type, []);
    }
  });

  // A plain iframe with `events=true` hears that the page is ready without asking.
  if (eventsOn) event("ready", readyData());
})();
